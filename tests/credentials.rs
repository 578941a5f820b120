//! The docker config probe on real files (no peers): how docker would authenticate to the registry host.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{FAKE_REGISTRY_TOKEN, Run, doctor, run};

const REF: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1";

/// Only the credentials check, with `config` as the docker config and `path` as PATH.
fn credentials(config: Option<&str>, path: &str) -> (Run, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    if let Some(text) = config {
        std::fs::write(dir.path().join("config.json"), text).unwrap();
    }
    let skip = "docker-daemon,image-store,repository-exists,tag-mutability,tag-collision,local-image,image-shape,push-risk";
    let mut cmd = doctor(None, &["check", "--format", "json", "--skip", skip, REF]);
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
            .contains("docker-credential-ecr-login is not on PATH")
    );

    let bin = tempfile::tempdir().unwrap();
    let helper = bin.path().join("docker-credential-ecr-login");
    std::fs::write(&helper, "#!/bin/sh\nexit 1\n").unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (_, f) = credentials(
        Some(config),
        &format!("{}:/usr/bin:/bin", bin.path().display()),
    );
    assert_eq!(f["outcome"], "pass", "{f}");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("docker-credential-ecr-login (credHelpers)")
    );
}

#[test]
fn a_broken_config_file_is_unknown_not_pass() {
    let (r, f) = credentials(Some("{ not json"), "/usr/bin:/bin");
    assert_eq!(f["outcome"], "unknown", "{f}");
    assert!(f["message"].as_str().unwrap().contains("config.json"));
    assert_eq!(r.code, 3, "an unknown leaves the run undecided, never ok");
    assert_eq!(r.json()["summary"]["verdict"], "undecided");
}
