//! The onboarding checklist's registries (ecr-registries, ED109): one row per ECR registry of the docker
//! config, with the real `docker-credential-ecr-login` pointed at moto, the login asked of the TLS stand-in for
//! ECR's front door (tests/common/ecr_registry.rs), and the AWS identity from moto's STS. Secrets carry
//! canaries that no output may show.

// The parts of tests/common this binary uses, and no others (docs/testing.md, "The harness").
mod common {
    pub mod canary;
    pub mod cli;
    pub mod ecr_registry;
    pub mod engine;
    pub mod engines;
    pub mod finding;
    pub mod json;
    pub mod logins;
    pub mod peers;
    pub mod run;
    pub mod servers;
    pub use {canary::*, cli::*, engine::*, logins::*, peers::*, run::*, servers::*};
}

use std::os::unix::fs::PermissionsExt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use common::ecr_registry::{EcrRegistry, ecr_password};
use common::{ACCOUNT, Run, doctor, peers, run};
use serde_json::{Value, json};

/// Logged in with the ECR credential helper (moto's account).
const HELPER_HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
/// Named with a helper that is not installed.
const MISSING_HOST: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
/// Another account's registry, logged in with `docker login`.
const OTHER_ACCOUNT_HOST: &str = "210987654321.dkr.ecr.eu-central-1.amazonaws.com";

/// A machine set up for pushing: a docker config in `dir`, the real ECR credential helper on PATH, a home of
/// its own (the helper keeps its cache and log under `~/.ecr`), and the registry stand-ins trusted.
struct Machine {
    dir: tempfile::TempDir,
    bin: tempfile::TempDir,
    home: tempfile::TempDir,
}

impl Machine {
    fn new(config: &Value) -> Machine {
        let helper = peers()
            .var("ECR_DOCTOR_TEST_ECR_LOGIN")
            .expect("scripts/peers unpacks docker-credential-ecr-login: restart the peers");
        let (dir, bin, home) = (
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
        );
        std::fs::write(dir.path().join("config.json"), config.to_string()).unwrap();
        std::os::unix::fs::symlink(helper, bin.path().join("docker-credential-ecr-login")).unwrap();
        Machine { dir, bin, home }
    }

    /// A `docker-credential-NAME` program beside the ECR helper, running `script` (sh).
    fn program(&self, name: &str, script: &str) {
        let path = self.bin.path().join(format!("docker-credential-{name}"));
        std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// The checklist (`ecr-doctor` with no target) as JSON against the fixed engine, the login checked
    /// against `registries` (reached through --resolve, their CAs trusted).
    fn checklist(&self, registries: &[(&str, &EcrRegistry)], extra: &[&str]) -> Run {
        self.page("json", registries, extra)
    }

    /// The checklist in `format`.
    fn page(&self, format: &str, registries: &[(&str, &EcrRegistry)], extra: &[&str]) -> Run {
        self.run(&[], format, registries, extra)
    }

    /// `ecr-doctor [sub…] --format FORMAT …` with no target.
    fn run(
        &self,
        sub: &[&str],
        format: &str,
        registries: &[(&str, &EcrRegistry)],
        extra: &[&str],
    ) -> Run {
        let engine = peers().required_engine("new-classic");
        let mut args = sub.to_vec();
        args.extend(["--format", format, "--timeout", "5"]);
        let resolve: Vec<String> = registries
            .iter()
            .map(|(host, r)| format!("{host}:{}", r.addr))
            .collect();
        for r in &resolve {
            args.extend(["--resolve", r.as_str()]);
        }
        args.extend_from_slice(extra);
        let mut cmd = doctor(Some(&engine), &args);
        let cas = self.dir.path().join("cas.pem");
        let pems: String = registries
            .iter()
            .map(|(_, r)| std::fs::read_to_string(&r.ca).unwrap())
            .collect();
        std::fs::write(&cas, pems).unwrap();
        cmd.env_remove("ECR_DOCTOR_NO_LOGIN_CHECK")
            .env("DOCKER_CONFIG", self.dir.path())
            .env("HOME", self.home.path())
            .env(
                "PATH",
                format!("{}:/usr/bin:/bin", self.bin.path().display()),
            )
            .env("AWS_ENDPOINT_URL_ECR", peers().moto_url())
            .env("SSL_CERT_FILE", &cas);
        run(cmd)
    }
}

/// The rows of ecr-registries, by registry host (the one row without a registry under "").
fn registry_rows(r: &Run) -> Vec<(String, Value)> {
    r.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "ecr-registries")
        .map(|f| {
            let host = f["evidence"]["registry"].as_str().unwrap_or("").to_string();
            (host, f.clone())
        })
        .collect()
}

fn row<'r>(rows: &'r [(String, Value)], host: &str) -> &'r Value {
    &rows
        .iter()
        .find(|(h, _)| h == host)
        .unwrap_or_else(|| panic!("no row for {host}: {rows:?}"))
        .1
}

fn message(f: &Value) -> &str {
    f["message"].as_str().unwrap_or_default()
}

fn auth(password: &str) -> Value {
    json!({ "auth": BASE64.encode(format!("AWS:{password}")) })
}

/// Two ECR registries and one that is not ECR: the helper's login works, the missing helper warns.
fn two_registries() -> Value {
    json!({
        "credHelpers": { HELPER_HOST: "ecr-login", MISSING_HOST: "ecr-login-nowhere" },
        "auths": { "ghcr.io": auth("CANARY-ghcr-0b9") },
    })
}

#[test]
fn each_ecr_registry_is_a_row_saying_how_docker_logs_in_whether_it_works_and_as_whom() {
    // moto's GetAuthorizationToken hands the helper this password (no ECR envelope, so no expiry to read).
    let token = format!("{ACCOUNT}-auth-token");
    let registry = EcrRegistry::start(HELPER_HOST, HELPER_HOST, &token, "unused");
    let machine = Machine::new(&two_registries());
    let r = machine.checklist(&[(HELPER_HOST, &registry)], &[]);
    let rows = registry_rows(&r);
    assert_eq!(rows.len(), 2, "ghcr.io is not an ECR registry: {rows:?}");

    let working = row(&rows, HELPER_HOST);
    assert_eq!(working["outcome"], "pass", "{working}");
    assert!(
        message(working).starts_with(&format!(
            "{HELPER_HOST}: credential helper ecr-login (credHelpers), a fresh token per push; the registry \
             accepts it (GET /v2/ answered 200); AWS identity arn:aws:"
        )),
        "{working}"
    );
    assert!(
        message(working).contains(&format!("(account {ACCOUNT}, from environment variables)")),
        "{working}"
    );
    assert!(!message(working).contains("cross-account"), "{working}");
    // The real helper ran: it keeps its log and cache under ~/.ecr.
    assert!(machine.home.path().join(".ecr").exists());

    let missing = row(&rows, MISSING_HOST);
    assert_eq!(missing["outcome"], "warn", "{missing}");
    assert!(
        message(missing).contains(
            "credential helper ecr-login-nowhere (credHelpers), but docker-credential-ecr-login-nowhere is not \
             on PATH: a push fails"
        ),
        "{missing}"
    );
    assert!(
        missing["remediation"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("Install the credential helper"),
        "{missing}"
    );
    // A checklist warns: nothing is pushed yet.
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    for secret in [token.as_str(), "CANARY-ghcr-0b9"] {
        assert!(!r.stdout.contains(secret) && !r.stderr.contains(secret));
    }

    // The onboarding page lists them in a section of their own, the missing helper's fix below.
    let r = machine.page("markdown", &[(HELPER_HOST, &registry)], &[]);
    let page = &r.stdout;
    let section = page
        .split("## Registries this machine can push to")
        .nth(1)
        .unwrap_or_else(|| panic!("no registries section: {page}"));
    assert!(
        section.contains(&format!("| ✅ | `{HELPER_HOST}` |")),
        "{page}"
    );
    assert!(
        section.contains(&format!("| ⚠️ | `{MISSING_HOST}` |")),
        "{page}"
    );
    assert!(!page.contains(&token) && !page.contains("CANARY-ghcr-0b9"));
}

#[test]
fn an_expired_docker_login_warns_and_another_accounts_registry_is_said() {
    let (fresh, expired) = (
        ecr_password(6 * 3600, "CANARY-fresh-31c"),
        ecr_password(-3600, "CANARY-expired-8d2"),
    );
    let registry = EcrRegistry::start(OTHER_ACCOUNT_HOST, OTHER_ACCOUNT_HOST, &fresh, "unused");
    let config = json!({
        "auths": {
            format!("https://{HELPER_HOST}"): auth(&expired),
            OTHER_ACCOUNT_HOST: auth(&fresh),
        },
    });
    let machine = Machine::new(&config);
    let r = machine.checklist(&[(OTHER_ACCOUNT_HOST, &registry)], &[]);
    let rows = registry_rows(&r);
    assert_eq!(rows.len(), 2, "{rows:?}");

    let old = row(&rows, HELPER_HOST);
    assert_eq!(old["outcome"], "warn", "{old}");
    assert!(
        message(old).contains("a token in auths (docker login to")
            && message(old).contains("whose token expired at"),
        "{old}"
    );
    assert!(
        old["remediation"][0]["commands"][0]
            .as_str()
            .unwrap()
            .starts_with("aws ecr get-login-password --region us-east-1 | docker login"),
        "{old}"
    );

    let other = row(&rows, OTHER_ACCOUNT_HOST);
    assert_eq!(other["outcome"], "pass", "{other}");
    assert!(
        message(other).contains("the registry accepts it (GET /v2/ answered 200)")
            && message(other).contains(
                "the registry is in account 210987654321: a cross-account registry, whose repository \
                 policies must grant this identity the push"
            ),
        "{other}"
    );
    assert!(
        other["evidence"]["token expires"].as_str().is_some(),
        "{other}"
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    // A saved checklist keeps where each credential came from and what the registry said, never a secret.
    let facts = machine.dir.path().join("facts.json");
    let saved = machine.run(
        &["check", "--save-facts", facts.to_str().unwrap()],
        "markdown",
        &[(OTHER_ACCOUNT_HOST, &registry)],
        &[],
    );
    let facts = std::fs::read_to_string(&facts).unwrap();
    assert!(facts.contains(OTHER_ACCOUNT_HOST), "{facts}");
    for secret in ["CANARY-fresh-31c", "CANARY-expired-8d2", &fresh, &expired] {
        for text in [&r.stdout, &r.stderr, &saved.stdout, &facts] {
            assert!(!text.contains(secret), "a secret leaked: {text}");
        }
    }
}

#[test]
fn no_ecr_registry_is_one_passing_row_saying_how_to_add_one() {
    for config in [json!({ "auths": { "ghcr.io": auth("x") } }), json!({})] {
        let machine = Machine::new(&config);
        let r = machine.checklist(&[], &[]);
        let rows = registry_rows(&r);
        assert_eq!(rows.len(), 1, "{rows:?}");
        let f = &rows[0].1;
        assert_eq!(f["outcome"], "pass", "{f}");
        assert!(
            message(f).contains("no ECR registry is configured in")
                && message(f).contains("\"ecr-login\""),
            "{f}"
        );
        assert_eq!(r.code, 0, "{}", r.stdout);
    }
}

#[test]
fn offline_asks_neither_aws_nor_the_registry_and_says_so() {
    let machine = Machine::new(&two_registries());
    let r = machine.checklist(&[], &["--offline"]);
    let rows = registry_rows(&r);
    let helper = row(&rows, HELPER_HOST);
    assert_eq!(helper["outcome"], "skip", "{helper}");
    assert!(
        message(helper).contains(
            "--offline: docker-credential-ecr-login get calls AWS (GetAuthorizationToken), not run"
        ),
        "{helper}"
    );
    assert!(
        !machine.home.path().join(".ecr").exists(),
        "the ECR credential helper ran offline"
    );
    // What needs no network still warns.
    assert_eq!(row(&rows, MISSING_HOST)["outcome"], "warn");
    assert_eq!(r.code, 0, "{}", r.stdout);

    // Nor does a check run of a reference on that registry run the helper offline.
    let reference = format!("{HELPER_HOST}/app:v1");
    let r = machine.run(&["check"], "json", &[], &["--offline", &reference]);
    let f = r.finding("registry-credentials", Some(&reference));
    assert_eq!(f["outcome"], "skip", "{f}");
    assert!(!machine.home.path().join(".ecr").exists());
}

#[test]
fn a_credential_stores_registries_come_from_its_list() {
    let canary = "CANARY-store-a41";
    let machine = Machine::new(&json!({ "credsStore": "teststore" }));
    // A store as docker-credential-helpers' `list` and `get` answer (no native keychain runs here).
    machine.program(
        "teststore",
        &format!(
            r#"case "$1" in
list) echo '{{"https://{OTHER_ACCOUNT_HOST}":"AWS","ghcr.io":"me"}}' ;;
get) read -r host; echo '{{"ServerURL":"'"$host"'","Username":"AWS","Secret":"{canary}"}}' ;;
*) exit 1 ;;
esac"#
        ),
    );
    let registry = EcrRegistry::start(OTHER_ACCOUNT_HOST, OTHER_ACCOUNT_HOST, canary, "unused");
    let r = machine.checklist(&[(OTHER_ACCOUNT_HOST, &registry)], &[]);
    let rows = registry_rows(&r);
    assert_eq!(rows.len(), 1, "{rows:?}");
    let f = row(&rows, OTHER_ACCOUNT_HOST);
    assert_eq!(f["outcome"], "pass", "{f}");
    assert!(
        message(f).contains("credential store teststore (credsStore); the registry accepts it"),
        "{f}"
    );
    assert_eq!(f["evidence"]["named in"], "credsStore");
    assert!(!r.stdout.contains(canary));

    // A store that cannot list: what it holds is unknown, and said.
    machine.program("teststore", "echo 'the keychain is locked'; exit 1");
    let r = machine.checklist(&[], &[]);
    let rows = registry_rows(&r);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].1["outcome"], "unknown", "{:?}", rows[0].1);
    assert!(
        message(&rows[0].1).contains(
            "the credential store could not list its registries: docker-credential-teststore list exited \
             with exit status: 1: the keychain is locked"
        ),
        "{:?}",
        rows[0].1
    );
    assert_eq!(r.code, 3, "undecided: {}", r.stdout);
}

#[test]
fn a_check_run_has_no_registry_rows() {
    let machine = Machine::new(&two_registries());
    let engine = peers().required_engine("new-classic");
    let facts = machine.dir.path().join("facts.json");
    let mut cmd = doctor(
        Some(&engine),
        &[
            "check",
            "--format",
            "json",
            "--offline",
            "--save-facts",
            facts.to_str().unwrap(),
            &format!("{HELPER_HOST}/app:v1"),
        ],
    );
    cmd.env("DOCKER_CONFIG", machine.dir.path());
    let r = run(cmd);
    assert!(registry_rows(&r).is_empty(), "{}", r.stdout);
    // Nor are they gathered.
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&facts).unwrap()).unwrap();
    assert_eq!(
        saved["registries"]["status"], "skipped",
        "{}",
        saved["registries"]
    );
}
