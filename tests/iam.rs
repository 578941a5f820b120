//! Who may push where, against real peers: the AWS identity through moto's STS (and the real aws-sdk-sts on
//! the fixture side), credentials of another partition refused by moto's IAM, no credentials at all, and
//! repositories a creation template makes on push and pull-through cache namespaces
//! (DescribeRepositoryCreationTemplates and DescribePullThroughCacheRules from the stand-in in front of moto,
//! which lacks those APIs).

// The parts of tests/common this binary uses, and no others (docs/testing.md, "The harness").
mod common {
    pub mod canary;
    pub mod cli;
    pub mod docker;
    pub mod ecr_extras;
    pub mod engine;
    pub mod engines;
    pub mod extras_answers;
    pub mod filters;
    pub mod finding;
    pub mod http;
    pub mod images;
    pub mod json;
    pub mod logins;
    pub mod moto;
    pub mod names;
    pub mod outcome;
    pub mod peers;
    pub mod recording_moto;
    pub mod repository;
    pub mod run;
    pub mod servers;
    pub use {
        canary::*, cli::*, engine::*, extras_answers::*, filters::*, http::*, logins::*, moto::*,
        names::*, peers::*, recording_moto::*, repository::*, run::*, servers::*,
    };
}

use std::net::TcpListener;
use std::time::Duration;

use common::ecr_extras::EcrExtras;
use common::*;
use serde_json::json;

/// The checks that need the Docker engine: skipped where a test is about AWS alone.
const DOCKER_CHECKS: &str = "docker-daemon,image-store,local-image,image-shape,push-risk";

/// Credentials of `role_arn`'s account, from moto's STS AssumeRole through the real SDK.
fn assume_role(role_arn: &str) -> (String, String, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(REGION))
            .endpoint_url(peers().moto_url())
            .credentials_provider(aws_sdk_sts::config::Credentials::new(
                "test", "test", None, None, "tests",
            ))
            .load()
            .await;
        let out = aws_sdk_sts::Client::new(&config)
            .assume_role()
            .role_arn(role_arn)
            .role_session_name("ci")
            .send()
            .await
            .expect("moto assumes the role");
        let c = out.credentials().expect("credentials");
        (
            c.access_key_id().to_string(),
            c.secret_access_key().to_string(),
            c.session_token().to_string(),
        )
    })
}

fn aws_only(args: &[&str]) -> std::process::Command {
    let mut all = vec!["check", "--format", "json", "--skip", DOCKER_CHECKS];
    all.extend_from_slice(args);
    let mut cmd = doctor(None, &all);
    cmd.env("AWS_ENDPOINT_URL_ECR", peers().moto_url());
    cmd
}

fn message(run: &Run, check: &str, target: &str) -> String {
    let f = run.finding(check, Some(target));
    format!(
        "{} {}",
        f["outcome"].as_str().unwrap(),
        f["message"].as_str().unwrap()
    )
}

#[test]
fn the_caller_is_named_with_its_account_and_the_source_of_its_credentials() {
    let (_, r) = repository("iam-id", "MUTABLE");
    let run = common::run(aws_only(&[&r]));
    assert_eq!(
        message(&run, "aws-identity", &r),
        "pass arn:aws:sts::123456789012:user/moto (account 123456789012, from environment variables)"
    );

    // The same keys from a profile in the shared files.
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("credentials");
    std::fs::write(
        &creds,
        "[ci]\naws_access_key_id = test\naws_secret_access_key = test\n",
    )
    .unwrap();
    let mut cmd = aws_only(&[&r]);
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_SHARED_CREDENTIALS_FILE", &creds)
        .env("AWS_CONFIG_FILE", dir.path().join("config"))
        .env("AWS_PROFILE", "ci");
    let run = common::run(cmd);
    assert!(
        message(&run, "aws-identity", &r)
            .ends_with("from the shared config/credentials files (profile))"),
        "{}",
        message(&run, "aws-identity", &r)
    );
    assert_eq!(run.outcome("repository-exists", Some(&r)), "pass");
}

#[test]
fn a_role_assumed_in_another_account_is_a_cross_account_push() {
    let (key, secret, token) = assume_role("arn:aws:iam::210987654321:role/pusher");
    let r = ecr_ref(&unique("iam-cross"), "v1");
    let mut cmd = aws_only(&[&r]);
    cmd.env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_SESSION_TOKEN", token);
    let run = common::run(cmd);
    assert_eq!(
        message(&run, "aws-identity", &r),
        "pass arn:aws:sts::210987654321:assumed-role/pusher/ci (account 210987654321, from environment \
         variables); the registry is in account 123456789012: a cross-account push"
    );
}

#[test]
fn credentials_of_another_partition_are_refused_by_its_sts() {
    // moto enforces IAM after the three fixture calls (CreateUser, PutUserPolicy, CreateAccessKey); the
    // user's keys exist in partition aws only, as a commercial account's do.
    let moto = RecordingMoto::start_with(&[("INITIAL_NO_AUTH_ACTION_COUNT", "3")]);
    let (key, secret) = iam_user(&moto, &["ecr:DescribeRepositories"]);
    let china = "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app:v1";
    let commercial = ecr_ref("app", "v1");
    let mut cmd = aws_only(&[china, &commercial]);
    cmd.env("AWS_ENDPOINT_URL_ECR", &moto.url)
        .env("AWS_ENDPOINT_URL_STS", &moto.url)
        .env("AWS_ACCESS_KEY_ID", &key)
        .env("AWS_SECRET_ACCESS_KEY", &secret);
    let run = common::run(cmd);
    // (moto answers InvalidClientTokenId with an error body the SDK cannot read, so only its HTTP 403 shows.)
    let refused = message(&run, "aws-identity", china);
    assert!(
        refused.starts_with(
            "fail STS in cn-north-1 (partition aws-cn) refused the credentials from environment variables: \
             HTTP 403"
        ),
        "{refused}"
    );
    assert_eq!(
        message(&run, "aws-identity", &commercial),
        "pass arn:aws:iam::123456789012:user/pusher (account 123456789012, from environment variables)"
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
}

/// A port that accepts connections and never answers: an instance metadata address that goes nowhere.
fn silent_port() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

#[test]
fn no_credentials_are_said_plainly_quickly_and_cost_no_more_than_before() {
    let r = ecr_ref("plain/app", "v1");
    let no_credentials = |skip_identity: bool| {
        let mut args = vec![&r as &str];
        if skip_identity {
            args = vec!["--skip", "aws-identity", &r];
        }
        let mut cmd = aws_only(&args);
        cmd.env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY");
        common::run(cmd)
    };
    let run = no_credentials(false);
    assert_eq!(run.code, 3, "{}", run.stdout);
    assert!(
        message(&run, "aws-identity", &r).starts_with(
            "unknown could not decide: the AWS identity (STS GetCallerIdentity) is unknown: no AWS \
             credentials found: env, profile, SSO, web identity, container or instance role"
        ),
        "{}",
        message(&run, "aws-identity", &r)
    );
    // The identity shares the one credential resolution with the ECR reads: the fastest of five runs each
    // way, with and without the identity check, are within 100 ms.
    let fastest = |skip| (0..5).map(|_| no_credentials(skip).elapsed).min().unwrap();
    let (with, without) = (fastest(false), fastest(true));
    assert!(
        with <= without + Duration::from_millis(100),
        "with the identity {with:?}, without {without:?}"
    );

    // Instance metadata that never answers: asked once, briefly, not once per call.
    let (_held, port) = silent_port();
    let mut cmd = aws_only(&[&r]);
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_EC2_METADATA_DISABLED")
        .env(
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            format!("http://127.0.0.1:{port}"),
        );
    let run = common::run(cmd);
    assert!(run.elapsed < Duration::from_secs(3), "{:?}", run.elapsed);
    assert!(
        message(&run, "aws-identity", &r).contains("no AWS credentials found"),
        "{}",
        message(&run, "aws-identity", &r)
    );

    // Instance metadata that refuses (a proxy's 403, as on machines that block it): still no credentials,
    // and what it said.
    let port = refusing_port();
    let mut cmd = aws_only(&[&r]);
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_EC2_METADATA_DISABLED")
        .env(
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            format!("http://127.0.0.1:{port}"),
        );
    let run = common::run(cmd);
    let said = message(&run, "aws-identity", &r);
    assert!(
        said.contains(
            "no AWS credentials found: not in env, profile, SSO, web identity or container, and the \
             instance metadata service gave none (failed to load IMDS session token"
        ),
        "{said}"
    );
}

/// A port whose every HTTP request is answered 403 Forbidden.
fn refusing_port() -> u16 {
    use std::io::{Read, Write};
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(
                b"HTTP/1.1 403 Forbidden\r\nContent-Length: 6\r\nConnection: close\r\n\r\ndenied",
            );
        }
    });
    port
}

#[test]
fn a_repository_a_template_creates_on_push_is_not_missing_and_takes_the_template_mode() {
    let e = peers().required_engine("old-containerd");
    let extras = EcrExtras::start(
        peers().moto_url(),
        json!([
            template("ROOT", &["CREATE_ON_PUSH"], "IMMUTABLE"),
            template(
                "sandbox",
                &["CREATE_ON_PUSH", "PULL_THROUGH_CACHE"],
                "MUTABLE"
            ),
            template("mirror", &["PULL_THROUGH_CACHE"], "MUTABLE"),
        ]),
        json!([]),
    );
    let immutable = ecr_ref(&unique("tpl/app"), "v1");
    let mutable = ecr_ref(&format!("sandbox/{}", unique("app")), "v1");
    let not_created = ecr_ref(&format!("mirror/{}", unique("app")), "v1");
    // A default build on engine 26 with the containerd store: an index with a provenance attestation.
    for r in [&immutable, &mutable, &not_created] {
        e.build(r, &unique("tpl"), &[]);
    }
    let mut cmd = doctor(
        Some(&e),
        &[
            "check",
            "--format",
            "json",
            &immutable,
            &mutable,
            &not_created,
        ],
    );
    cmd.env("AWS_ENDPOINT_URL_ECR", &extras.url);
    let run = common::run(cmd);

    // The founding case on a repository that does not exist yet but will be IMMUTABLE still fails.
    assert!(
        message(&run, "repository-exists", &immutable).starts_with(&format!(
            "pass repository '{}' does not exist yet: the push creates it from the creation template 'ROOT' \
             (CREATE_ON_PUSH), with tag mutability IMMUTABLE",
            immutable.split_once('/').unwrap().1.trim_end_matches(":v1")
        )),
        "{}",
        message(&run, "repository-exists", &immutable)
    );
    assert_eq!(run.outcome("tag-mutability", Some(&immutable)), "pass");
    assert!(
        message(&run, "push-risk", &immutable).starts_with("fail docker push will fail"),
        "{}",
        message(&run, "push-risk", &immutable)
    );
    // Under `sandbox/` the more specific template makes a MUTABLE repository: the same image pushes.
    assert!(
        message(&run, "tag-mutability", &mutable)
            .contains("is mutable: MUTABLE (the creation template 'sandbox'"),
        "{}",
        message(&run, "tag-mutability", &mutable)
    );
    assert_eq!(run.outcome("push-risk", Some(&mutable)), "pass");
    // Under `mirror/` the template is for pull-through cache only: the push finds no repository.
    assert!(
        message(&run, "repository-exists", &not_created)
            .contains("its creation template 'mirror' applies to PULL_THROUGH_CACHE only"),
        "{}",
        message(&run, "repository-exists", &not_created)
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
}

#[test]
fn a_cross_account_push_needs_a_grant_in_the_repository_policy() {
    // The CI role of account 210987654321 pushes to registry 123456789012. moto keeps one ECR backend per
    // calling account, so the fixture creates the registry's repositories (registryId 123456789012) from
    // the caller's account, where the caller's reads find them; the policies are set through the real SDK.
    let (key, secret, token) = assume_role("arn:aws:iam::210987654321:role/ci-pusher");
    let caller = Moto::as_caller(
        peers().moto_url(),
        aws_sdk_ecr::config::Credentials::new(&key, &secret, Some(token.clone()), None, "tests"),
    );
    let (ecr, rt) = (&caller.client, &caller.rt);
    let push = r#"["ecr:BatchCheckLayerAvailability", "ecr:CompleteLayerUpload",
                   "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart"]"#;
    let policy =
        |statement: String| format!(r#"{{"Version": "2012-10-17", "Statement": [{statement}]}}"#);
    let cases = [
        (
            "allowed",
            Some(policy(format!(
                r#"{{"Sid": "AllowCrossAccountPush", "Effect": "Allow",
                    "Principal": {{"AWS": "arn:aws:iam::210987654321:role/ci-pusher"}}, "Action": {push}}}"#
            ))),
        ),
        (
            "denied",
            Some(policy(
                r#"{"Sid": "AllowAccount", "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::210987654321:root"}, "Action": "ecr:*"},
                   {"Sid": "NoPutImage", "Effect": "Deny", "Principal": "*", "Action": "ecr:PutImage"}"#
                    .to_string(),
            )),
        ),
        ("no-policy", None),
        (
            "condition",
            Some(policy(format!(
                r#"{{"Sid": "FromOrg", "Effect": "Allow", "Principal": "*", "Action": {push},
                    "Condition": {{"StringEquals": {{"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}}}}}"#
            ))),
        ),
    ];
    let mut refs = Vec::new();
    for (name, policy) in &cases {
        let repo = unique(&format!("cross/{name}"));
        rt.block_on(
            ecr.create_repository()
                .registry_id(ACCOUNT)
                .repository_name(&repo)
                .send(),
        )
        .unwrap();
        if let Some(text) = policy {
            rt.block_on(
                ecr.set_repository_policy()
                    .registry_id(ACCOUNT)
                    .repository_name(&repo)
                    .policy_text(text)
                    .send(),
            )
            .unwrap();
        }
        refs.push(ecr_ref(&repo, "v1"));
    }
    let mut cmd = aws_only(&refs.iter().map(String::as_str).collect::<Vec<_>>());
    cmd.env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_SESSION_TOKEN", token);
    let run = common::run(cmd);
    let caller = "arn:aws:sts::210987654321:assumed-role/ci-pusher/ci";
    let said = |i: usize| message(&run, "repository-policy", &refs[i]);
    assert!(
        said(0).starts_with(&format!(
            "pass the repository policy of '{}' grants {caller} the push (statement 'AllowCrossAccountPush')",
            refs[0].split_once('/').unwrap().1.trim_end_matches(":v1")
        )),
        "{}",
        said(0)
    );
    assert!(
        said(1).starts_with("fail statement 'NoPutImage' of the repository policy of")
            && said(1).ends_with(&format!("denies {caller} ecr:PutImage")),
        "{}",
        said(1)
    );
    assert!(said(2).contains("has no repository policy"), "{}", said(2));
    assert!(
        said(3).starts_with("unknown could not decide")
            && said(3).contains(
                "statement 'FromOrg' allows it only under the condition StringEquals aws:PrincipalOrgID"
            ),
        "{}",
        said(3)
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
}

#[test]
fn a_silent_sts_is_unknown_within_the_timeout() {
    let (_held, port) = silent_port();
    let (_, r) = repository("iam-silent", "MUTABLE");
    let mut cmd = aws_only(&["--timeout", "2", &r]);
    cmd.env("AWS_ENDPOINT_URL_STS", format!("http://127.0.0.1:{port}"));
    let run = common::run(cmd);
    assert!(run.elapsed < Duration::from_secs(4), "{:?}", run.elapsed);
    assert_eq!(
        message(&run, "aws-identity", &r),
        "unknown could not decide: the AWS identity (STS GetCallerIdentity) is unknown: STS in us-east-1 \
         (GetCallerIdentity) did not answer within 2s"
    );
    // The ECR reads do not wait on it.
    assert_eq!(run.outcome("repository-exists", Some(&r)), "pass");
    assert_eq!(run.code, 3, "an unknown identity leaves the run undecided");
}

#[test]
fn a_push_into_a_pull_through_cache_namespace_warns_naming_the_rule() {
    let extras = EcrExtras::start(
        peers().moto_url(),
        json!([]),
        json!([
            rule("docker-hub", "registry-1.docker.io"),
            rule("ecr-public", "public.ecr.aws")
        ]),
    );
    let (cache, _) = repository("docker-hub/library/app", "MUTABLE");
    let cached = ecr_ref(&cache, "v1");
    let (_, own) = repository("docker-hubx/app", "MUTABLE");
    let mut cmd = aws_only(&[&cached, &own]);
    cmd.env("AWS_ENDPOINT_URL_ECR", &extras.url);
    let run = common::run(cmd);
    assert_eq!(
        message(&run, "pull-through-cache", &cached),
        format!(
            "warn repository '{cache}' is in the namespace of the pull-through cache rule 'docker-hub' \
             (upstream registry-1.docker.io): ECR creates and updates the repositories there from upstream, \
             so a pushed image mixes with cached ones"
        )
    );
    // A prefix is a namespace: `docker-hubx/…` is not under `docker-hub/`.
    assert!(
        message(&run, "pull-through-cache", &own)
            .starts_with("pass no pull-through cache rule covers"),
        "{}",
        message(&run, "pull-through-cache", &own)
    );
    // A warning: the push itself is not predicted to fail, and the rules were verified.
    assert_eq!(run.code, 0, "{}", run.stdout);
    let notes = run.json()["summary"]["not_verified"].to_string();
    assert!(!notes.contains("pull-through"), "{notes}");
}

#[test]
fn unreadable_pull_through_cache_rules_are_said_but_do_not_leave_the_run_undecided() {
    // moto has no DescribePullThroughCacheRules (it answers HTTP 500): the check cannot decide.
    let (_, r) = repository("iam-ptc", "MUTABLE");
    // (push-permission, the other advisory check, is about the harness's `docker login` token here.)
    let run = common::run(aws_only(&["--skip", "push-permission", &r]));
    assert!(
        message(&run, "pull-through-cache", &r).starts_with(
            "unknown could not decide: whether a pull-through cache rule owns the repository's namespace \
             (DescribePullThroughCacheRules) is unknown: the ECR API at"
        ),
        "{}",
        message(&run, "pull-through-cache", &r)
    );
    let summary = &run.json()["summary"];
    assert_eq!(
        (summary["verdict"].as_str(), run.code),
        (Some("pass"), 0),
        "{}",
        run.stdout
    );
    assert_eq!(
        summary["not_verified"],
        json!([
            "pull-through cache namespaces not verified (needs ecr:DescribePullThroughCacheRules)"
        ])
    );
    // The human summary line says it too.
    let mut human = doctor(
        None,
        &[
            "check",
            "--skip",
            DOCKER_CHECKS,
            "--skip",
            "push-permission",
            &r,
        ],
    );
    human.env("AWS_ENDPOINT_URL_ECR", peers().moto_url());
    let human = common::run(human);
    assert!(
        human.stdout.lines().last().unwrap().contains(
            "· pull-through cache namespaces not verified (needs ecr:DescribePullThroughCacheRules)  \
             (--fail-on fail, exit 0)"
        ),
        "{}",
        human.stdout
    );
    // A gate that counts warnings counts this unknown like any other.
    let mut strict = aws_only(&["--skip", "push-permission", &r]);
    strict.args(["--fail-on", "warn"]);
    let strict = common::run(strict);
    assert_eq!(strict.code, 3, "{}", strict.stdout);
    assert!(strict.json()["summary"].get("not_verified").is_none());
}
