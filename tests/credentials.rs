//! The docker config probe on real files and real helper programs (no peers): the credential docker would
//! send to the registry host, resolved as the docker CLI resolves it. The registry is not asked here
//! (tests/login.rs asks it).

// The parts of tests/common this binary uses, and no others (docs/testing.md, "The harness").
mod common {
    pub mod canary;
    pub mod cli;
    pub mod engine;
    pub mod finding;
    pub mod json;
    pub mod logins;
    pub mod peers;
    pub mod run;
    pub use {canary::*, cli::*, engine::*, logins::*, peers::*, run::*};
}

use std::os::unix::fs::PermissionsExt;

use common::{FAKE_REGISTRY_TOKEN, Run, doctor, run};

const REF: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1";
const SKIP: &str = "docker-daemon,image-store,repository-exists,tag-mutability,tag-collision,local-image,image-shape,push-risk";

/// Only the credentials check, with `config` as the docker config and `path` as PATH.
fn credentials(config: Option<&str>, path: &str) -> (Run, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    if let Some(text) = config {
        std::fs::write(dir.path().join("config.json"), text).unwrap();
    }
    let mut cmd = doctor(None, &["check", "--format", "json", "--skip", SKIP, REF]);
    cmd.env("DOCKER_CONFIG", dir.path()).env("PATH", path);
    let r = run(cmd);
    let f = r.finding("registry-credentials", Some(REF));
    (r, f)
}

#[test]
fn no_entry_for_the_host_fails_with_the_login_command() {
    for config in [
        None,
        Some("{}"),
        Some(r#"{"auths":{"123456789012.dkr.ecr.eu-west-1.amazonaws.com":{"auth":"x"}}}"#),
    ] {
        let (r, f) = credentials(config, "/usr/bin:/bin");
        assert_eq!(f["outcome"], "fail", "{config:?}: {f}");
        assert!(
            f["message"]
                .as_str()
                .unwrap()
                .contains("no basic auth credentials")
        );
        let login = f["remediation"][1]["commands"][0].as_str().unwrap();
        assert!(
            login.starts_with("aws ecr get-login-password --region us-east-1 | docker login"),
            "{login}"
        );
        assert_eq!(r.code, 1);
    }
}

#[test]
fn a_fresh_login_passes_and_its_token_never_shows() {
    let config = format!(
        r#"{{"auths":{{"https://123456789012.dkr.ecr.us-east-1.amazonaws.com":{{"auth":"{FAKE_REGISTRY_TOKEN}"}}}}}}"#
    );
    let (r, f) = credentials(Some(&config), "/usr/bin:/bin");
    assert_eq!(f["outcome"], "pass", "{f}");
    assert_eq!(f["evidence"]["auths entry"], "yes, with a token");
    assert!(!r.stdout.contains(FAKE_REGISTRY_TOKEN) && !r.stderr.contains(FAKE_REGISTRY_TOKEN));
}

#[test]
fn a_credential_helper_must_be_on_path() {
    let config = r#"{"credHelpers":{"123456789012.dkr.ecr.us-east-1.amazonaws.com":"ecr-login"}}"#;
    let (_, f) = credentials(Some(config), "/usr/bin:/bin");
    assert_eq!(f["outcome"], "fail", "{f}");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("exec: \"docker-credential-ecr-login\": executable file not found in $PATH; docker push ignores that and sends no credentials")
    );

    // On PATH but failing: docker push ignores the failure and sends nothing.
    let bin = helper("ecr-login", "exit 1");
    let (_, f) = credentials(Some(config), &path_with(&bin));
    assert_eq!(f["outcome"], "fail", "{f}");
    assert!(
        message(&f).contains(
            "docker-credential-ecr-login get exited with exit status: 1 and printed nothing; docker push ignores that"
        ),
        "{f}"
    );
}

/// A `docker-credential-NAME` program running `script` (sh) in a directory of its own.
fn helper(name: &str, script: &str) -> tempfile::TempDir {
    let bin = tempfile::tempdir().unwrap();
    let path = bin.path().join(format!("docker-credential-{name}"));
    std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

fn path_with(bin: &tempfile::TempDir) -> String {
    format!("{}:/usr/bin:/bin", bin.path().display())
}

fn message(f: &serde_json::Value) -> &str {
    f["message"].as_str().unwrap_or_default()
}

const HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const STORE: &str = r#"{"credsStore":"teststore"}"#;

/// A file-backed credential store, as docker runs one: `get` reads the host from stdin and prints the
/// credential kept in `HOST.json` beside the program, or the not-found message docker-credential-helpers use.
const FILE_STORE: &str = r#"[ "$1" = get ] || exit 1
read -r host
f="$(dirname "$0")/$host.json"
if [ -f "$f" ]; then cat "$f"; else echo "credentials not found in native keychain"; exit 1; fi"#;

#[test]
fn a_credential_store_is_asked_as_docker_asks_it() {
    let canary = "CANARY-store-5d1e";
    let bin = helper("teststore", FILE_STORE);
    // Nothing stored for the host: docker pushes anonymously, even with a token left in auths.
    let config = format!(
        r#"{{"credsStore":"teststore","auths":{{"{HOST}":{{"auth":"{FAKE_REGISTRY_TOKEN}"}}}}}}"#
    );
    let (_, f) = credentials(Some(&config), &path_with(&bin));
    assert_eq!(f["outcome"], "fail", "{f}");
    assert!(message(&f).contains("docker-credential-teststore has no credential for 123456789012.dkr.ecr.us-east-1.amazonaws.com, and the token in auths is not used"), "{f}");

    std::fs::write(
        bin.path().join(format!("{HOST}.json")),
        format!(r#"{{"ServerURL":"{HOST}","Username":"AWS","Secret":"{canary}"}}"#),
    )
    .unwrap();
    let (r, f) = credentials(Some(STORE), &path_with(&bin));
    assert_eq!(f["outcome"], "pass", "{f}");
    assert!(
        message(&f).contains("come from docker-credential-teststore (credsStore)"),
        "{f}"
    );
    assert_eq!(f["evidence"]["credential"], "a password or token");
    assert!(!r.stdout.contains(canary) && !r.stderr.contains(canary));
}

#[test]
fn an_expired_token_in_a_credential_store_fails_naming_when() {
    // The commonest Docker Desktop case: the store keeps what `docker login` gave it, 12 hours ago.
    let bin = helper("teststore", FILE_STORE);
    let expired_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 2 * 3600;
    let envelope = format!(
        r#"{{"payload":"CANARY-desktop","datakey":"k","version":"2","type":"DATA_KEY","expiration":{expired_at}}}"#
    );
    let password = base64_encode(&envelope);
    std::fs::write(
        bin.path().join(format!("{HOST}.json")),
        format!(r#"{{"ServerURL":"{HOST}","Username":"AWS","Secret":"{password}"}}"#),
    )
    .unwrap();
    let (r, f) = credentials(Some(STORE), &path_with(&bin));
    assert_eq!(f["outcome"], "fail", "{f}");
    assert!(
        message(&f)
            .contains("the ECR token from docker-credential-teststore (credsStore) expired at")
            && message(&f).contains("(2 h ago)"),
        "{f}"
    );
    assert!(!r.stdout.contains(&password) && !r.stdout.contains("CANARY"));
}

#[test]
fn a_failing_helper_is_one_plain_line_and_a_silent_one_is_cut_at_the_timeout() {
    for (script, outcome, says) in [
        (
            "echo 'credentials not found in native keychain'; exit 1",
            "fail",
            "docker-credential-teststore has no credential for",
        ),
        (
            "echo 'error getting credentials: no EC2 IMDS role found' >&2; echo 'second line' >&2; exit 1",
            "fail",
            "exited with exit status: 1: error getting credentials: no EC2 IMDS role found…;",
        ),
        // The secret is in what it printed: never echoed.
        (
            "echo 'garbage CANARY-garbage-22'",
            "fail",
            "answered with something that is not the credential JSON docker expects (26 bytes)",
        ),
        (
            "exec sleep 30",
            "unknown",
            "docker-credential-teststore get did not answer within 1s",
        ),
    ] {
        let bin = helper("teststore", script);
        let start = std::time::Instant::now();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.json"), STORE).unwrap();
        let mut cmd = doctor(
            None,
            &[
                "check",
                "--format",
                "json",
                "--timeout",
                "1",
                "--skip",
                SKIP,
                REF,
            ],
        );
        cmd.env("DOCKER_CONFIG", dir.path())
            .env("PATH", path_with(&bin));
        let r = run(cmd);
        assert!(
            start.elapsed() < std::time::Duration::from_secs(4),
            "{script}: {:?}",
            start.elapsed()
        );
        let f = r.finding("registry-credentials", Some(REF));
        assert_eq!(f["outcome"], outcome, "{script}: {f}");
        assert!(message(&f).contains(says), "{script}: {f}");
        assert!(!r.stdout.contains("CANARY"), "{}", r.stdout);
    }
}

#[test]
fn the_helper_runs_in_the_cli_environment() {
    let bin = helper(
        "teststore",
        r#"[ "$AWS_PROFILE" = ci ] && echo '{"Username":"AWS","Secret":"s"}' || { echo "no profile"; exit 1; }"#,
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), STORE).unwrap();
    let mut cmd = doctor(None, &["check", "--format", "json", "--skip", SKIP, REF]);
    cmd.env("DOCKER_CONFIG", dir.path())
        .env("PATH", path_with(&bin))
        .env("AWS_PROFILE", "ci");
    let f = run(cmd).finding("registry-credentials", Some(REF));
    assert_eq!(f["outcome"], "pass", "{f}");
}

#[test]
fn docker_auth_config_in_the_environment_comes_first_and_never_shows() {
    let canary = "CANARY-env-0b9d";
    let auth = base64_encode(&format!("AWS:{canary}"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), STORE).unwrap();
    let mut cmd = doctor(None, &["check", "--format", "json", "--skip", SKIP, REF]);
    cmd.env("DOCKER_CONFIG", dir.path()).env(
        "DOCKER_AUTH_CONFIG",
        format!(r#"{{"auths":{{"{HOST}":{{"auth":"{auth}"}}}}}}"#),
    );
    let r = run(cmd);
    let f = r.finding("registry-credentials", Some(REF));
    assert_eq!(f["outcome"], "pass", "{f}");
    assert!(
        message(&f).contains("come from auths (DOCKER_AUTH_CONFIG)"),
        "{f}"
    );
    assert!(!r.stdout.contains(canary) && !r.stdout.contains(&auth));
}

fn base64_encode(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[test]
fn a_broken_config_file_is_unknown_not_pass() {
    let (r, f) = credentials(Some("{ not json"), "/usr/bin:/bin");
    assert_eq!(f["outcome"], "unknown", "{f}");
    assert!(f["message"].as_str().unwrap().contains("config.json"));
    assert_eq!(r.code, 3, "an unknown leaves the run undecided, never ok");
    assert_eq!(r.json()["summary"]["verdict"], "undecided");
}
