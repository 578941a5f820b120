//! Whether IAM allows the push (push-permission), against real peers: roles made in moto's IAM with a path
//! and assumed through moto's STS (the real aws-sdk-iam and aws-sdk-sts on the fixture side), the caller's
//! role resolved by ecr-doctor's real aws-sdk-iam through moto's GetRole, and the simulation answered by the
//! stand-in `tests/common/iam_sim.rs` (moto lacks SimulatePrincipalPolicy) from the role's policies.

// The parts of tests/common this binary uses, and no others (docs/testing.md, "The harness").
mod common {
    pub mod canary;
    pub mod cli;
    pub mod ecr_extras;
    pub mod engine;
    pub mod filters;
    pub mod finding;
    pub mod iam_sim;
    pub mod json;
    pub mod logins;
    pub mod moto;
    pub mod names;
    pub mod outcome;
    pub mod peers;
    pub mod repository;
    pub mod run;
    pub mod servers;
    pub use {
        canary::*, cli::*, engine::*, filters::*, logins::*, moto::*, names::*, peers::*,
        repository::*, run::*, servers::*,
    };
}

use common::ecr_extras::EcrExtras;
use common::iam_sim::IamSimulator;
use std::sync::OnceLock;

use common::*;
use serde_json::{Value, json};

/// Checks about Docker and the registry's front door: skipped, the tests are about IAM.
const OTHER_CHECKS: &str = "docker-daemon,image-store,local-image,image-shape,push-risk,registry-credentials,registry-reachable";
const PUSH: [&str; 5] = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:PutImage",
];

/// A role under path `/ci/` in moto's IAM, assumed through moto's STS: its ARN, the session's ARN and keys.
struct Role {
    arn: String,
    session: String,
    keys: (String, String, String),
}

fn role(prefix: &str) -> Role {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let name = unique(prefix);
    rt.block_on(async {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(REGION))
            .endpoint_url(peers().moto_url())
            .credentials_provider(aws_sdk_iam::config::Credentials::new(
                "test", "test", None, None, "tests",
            ))
            .load()
            .await;
        let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}, "Action": "sts:AssumeRole"}]});
        let created = aws_sdk_iam::Client::new(&config)
            .create_role()
            .role_name(&name)
            .path("/ci/")
            .assume_role_policy_document(trust.to_string())
            .send()
            .await
            .expect("moto creates the role");
        let arn = created.role().expect("a role").arn().to_string();
        let assumed = aws_sdk_sts::Client::new(&config)
            .assume_role()
            .role_arn(&arn)
            .role_session_name("gha")
            .send()
            .await
            .expect("moto assumes the role");
        let c = assumed.credentials().expect("credentials");
        Role {
            session: format!("arn:aws:sts::{ACCOUNT}:assumed-role/{name}/gha"),
            arn,
            keys: (
                c.access_key_id().to_string(),
                c.secret_access_key().to_string(),
                c.session_token().to_string(),
            ),
        }
    })
}

fn allow(actions: &[&str]) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]})
}

/// What every run shares: docker pushing through the ECR credential helper (so as the AWS identity), and ECR
/// through the stand-in for the APIs moto lacks (no creation templates, no pull-through cache rules).
struct Shared {
    docker_config: tempfile::TempDir,
    ecr: EcrExtras,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let docker_config = tempfile::tempdir().unwrap();
        let host = format!("{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com");
        std::fs::write(
            docker_config.path().join("config.json"),
            json!({"credHelpers": {host: "ecr-login"}}).to_string(),
        )
        .unwrap();
        Shared {
            docker_config,
            ecr: EcrExtras::start(peers().moto_url(), json!([]), json!([])),
        }
    })
}

/// The binary as `role`, with IAM through `iam`.
fn doctor_as(role: &Role, iam: &IamSimulator, args: &[&str]) -> std::process::Command {
    let mut all = vec!["check", "--skip", OTHER_CHECKS];
    all.extend_from_slice(args);
    let mut cmd = doctor(None, &all);
    let (key, secret, token) = &role.keys;
    cmd.env("DOCKER_CONFIG", shared().docker_config.path())
        .env("AWS_ENDPOINT_URL_ECR", &shared().ecr.url)
        .env("AWS_ENDPOINT_URL_IAM", &iam.url)
        .env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_SESSION_TOKEN", token);
    cmd
}

fn said(run: &Run, target: &str) -> String {
    let f = run.finding("push-permission", Some(target));
    format!(
        "{} {}",
        f["outcome"].as_str().unwrap(),
        f["message"].as_str().unwrap()
    )
}

fn repository_arn(r: &str) -> String {
    let repo = r.split_once('/').unwrap().1.rsplit_once(':').unwrap().0;
    format!("arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{repo}")
}

#[test]
fn a_role_that_may_describe_but_not_push_fails_where_every_other_check_passes() {
    let ci = role("describe-only");
    let mut actions = vec!["ecr:Describe*", "ecr:GetAuthorizationToken"];
    actions.extend(&PUSH[..4]);
    let iam = IamSimulator::start(
        peers().moto_url(),
        &[(&ci.arn, "ecr-read", allow(&actions))],
    );
    let (_, r) = repository("perm/holdout", "MUTABLE");

    // Without the simulation, this push looks fine.
    let blind = common::run(doctor_as(
        &ci,
        &iam,
        &["--format", "json", "--skip", "push-permission", &r],
    ));
    assert_eq!(blind.code, 0, "{}", blind.stdout);

    let run = common::run(doctor_as(&ci, &iam, &["--format", "json", &r]));
    assert_eq!(
        said(&run, &r),
        format!(
            "fail IAM does not allow {} ecr:PutImage on {}: no policy allows it (implicit deny), so the push \
             would be refused with `denied: … is not authorized to perform`",
            ci.arn,
            repository_arn(&r)
        )
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
}

#[test]
fn an_assumed_role_is_simulated_as_its_role_with_its_path_once_per_repository() {
    let ci = role("pusher");
    assert!(ci.arn.contains(":role/ci/"), "{}", ci.arn);
    let iam = IamSimulator::start(
        peers().moto_url(),
        &[(&ci.arn, "ecr-push", allow(&["ecr:*"]))],
    );
    let (repo, r1) = repository("perm/allowed", "MUTABLE");
    let r2 = ecr_ref(&repo, "v2");
    let (_, other) = repository("perm/other", "MUTABLE");
    let run = common::run(doctor_as(
        &ci,
        &iam,
        &["--format", "json", &r1, &r2, &other],
    ));
    assert_eq!(
        said(&run, &r1),
        format!(
            "pass IAM allows {} the push to {} (GetAuthorizationToken and the five push actions)",
            ci.arn,
            repository_arn(&r1)
        )
    );
    assert_eq!(run.outcome("push-permission", Some(&other)), "pass");
    assert_eq!(run.code, 0, "{}", run.stdout);
    // The session `assumed-role/NAME/gha` was resolved to `role/ci/NAME` (GetRole); the token once for the
    // role, the push once per repository, whatever the number of tags.
    let mut calls = iam.calls();
    calls.sort();
    let mut want = vec![
        (
            ci.arn.clone(),
            vec!["ecr:GetAuthorizationToken".to_string()],
            vec![],
        ),
        (
            ci.arn.clone(),
            PUSH.map(String::from).to_vec(),
            vec![repository_arn(&r1)],
        ),
        (
            ci.arn.clone(),
            PUSH.map(String::from).to_vec(),
            vec![repository_arn(&other)],
        ),
    ];
    want.sort();
    assert_eq!(calls, want);
}

#[test]
fn an_explicit_deny_is_named() {
    let ci = role("denied");
    let deny = json!({"Version": "2012-10-17", "Statement": [{"Sid": "NoPush", "Effect": "Deny",
        "Action": ["ecr:PutImage", "ecr:InitiateLayerUpload"], "Resource": "arn:aws:ecr:*:*:repository/perm/*"}]});
    let iam = IamSimulator::start(
        peers().moto_url(),
        &[
            (&ci.arn, "ecr-push", allow(&["ecr:*"])),
            (&ci.arn, "no-push-to-perm", deny),
        ],
    );
    let (_, r) = repository("perm/denied", "MUTABLE");
    let run = common::run(doctor_as(&ci, &iam, &["--format", "json", &r]));
    assert_eq!(
        said(&run, &r),
        format!(
            "fail IAM denies {} ecr:InitiateLayerUpload, ecr:PutImage by an explicit Deny (role policy \
             'no-push-to-perm'): the push would be refused",
            ci.arn
        )
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
}

#[test]
fn a_role_that_may_not_simulate_is_said_and_gates_only_when_required() {
    let ci = role("no-simulate");
    let iam = IamSimulator::refusing(peers().moto_url(), &ci.session);
    let (_, r) = repository("perm/unverified", "MUTABLE");

    let run = common::run(doctor_as(&ci, &iam, &["--format", "json", &r]));
    assert!(
        said(&run, &r).starts_with(
            "unknown could not decide: whether IAM allows the push (SimulatePrincipalPolicy) is unknown: \
             access denied (User: arn:aws:sts::"
        ),
        "{}",
        said(&run, &r)
    );
    assert_eq!(
        (run.json()["summary"]["verdict"].as_str(), run.code),
        (Some("pass"), 0),
        "{}",
        run.stdout
    );
    assert_eq!(
        run.json()["summary"]["not_verified"],
        json!(["push permission not verified (needs iam:SimulatePrincipalPolicy)"])
    );
    let human = common::run(doctor_as(&ci, &iam, &["--color", "never", &r]));
    assert!(
        human.stdout.lines().last().unwrap().ends_with(
            "· push permission not verified (needs iam:SimulatePrincipalPolicy)  (--fail-on fail, exit 0)"
        ),
        "{}",
        human.stdout
    );
    assert_eq!(human.code, 0);

    // Required: the same unknown leaves the run undecided, from the flag or its environment twin.
    let required = common::run(doctor_as(&ci, &iam, &["--require-push-permission", &r]));
    assert_eq!(required.code, 3, "{}", required.stdout);
    assert!(
        required
            .stdout
            .lines()
            .last()
            .unwrap()
            .starts_with("? undecided"),
        "{}",
        required.stdout
    );
    let mut twin = doctor_as(&ci, &iam, &["--format", "json", &r]);
    twin.env("ECR_DOCTOR_REQUIRE_PUSH_PERMISSION", "true");
    let twin = common::run(twin);
    assert_eq!(twin.code, 3, "{}", twin.stdout);
    assert_eq!(twin.json()["summary"]["verdict"], "undecided");
}
