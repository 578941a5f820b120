//! The login, checked against a registry: the credential docker would send, sent to `GET /v2/` of a TLS
//! stand-in for ECR's front door (tests/common/ecr_registry.rs, reached through --resolve and a test CA),
//! and the way there, stage by stage. Secrets carry canaries that no output may show.

// The parts of tests/common this binary uses, and no others (docs/testing.md, "The harness").
mod common {
    pub mod canary;
    pub mod cli;
    pub mod ecr_registry;
    pub mod engine;
    pub mod finding;
    pub mod json;
    pub mod logins;
    pub mod peers;
    pub mod run;
    pub mod servers;
    pub use {canary::*, cli::*, engine::*, logins::*, peers::*, run::*, servers::*};
}

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use common::ecr_registry::{EXPIRED_MESSAGE, EcrRegistry, ecr_password};
use common::{Run, doctor, run};
use serde_json::{Value, json};

const HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const REF: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1";
/// Everything but the environment-free checks of the registry and the credential.
const SKIP: &str = "docker-daemon,image-store,build-attestations,repository-exists,tag-mutability,tag-collision,local-image,image-shape,push-risk";

/// config.json as `docker login` writes it: `auths` keyed by `https://HOST`.
fn auths(password: &str) -> String {
    json!({"auths": {format!("https://{HOST}"): {"auth": BASE64.encode(format!("AWS:{password}"))}}})
        .to_string()
}

struct Login {
    dir: tempfile::TempDir,
    resolve: String,
}

impl Login {
    /// A docker config holding `config`, the registry host resolved to `addr`.
    fn new(config: &str, addr: std::net::SocketAddr) -> Login {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.json"), config).unwrap();
        Login {
            dir,
            resolve: format!("{HOST}:{addr}"),
        }
    }

    /// `ecr-doctor check` of REF with the login check on, trusting `ca`.
    fn cmd(&self, ca: &std::path::Path, extra: &[&str]) -> std::process::Command {
        let mut args = vec!["check", "--skip", SKIP, "--resolve", &self.resolve];
        args.extend_from_slice(extra);
        args.push(REF);
        let mut cmd = doctor(None, &args);
        cmd.env_remove("ECR_DOCTOR_NO_LOGIN_CHECK")
            .env("ECR_DOCTOR_TIMEOUT", "3")
            .env("DOCKER_CONFIG", self.dir.path())
            .env("SSL_CERT_FILE", ca);
        cmd
    }

    fn json(&self, ca: &std::path::Path, extra: &[&str]) -> (Run, Value, Value) {
        let mut args = vec!["--format", "json"];
        args.extend_from_slice(extra);
        let r = run(self.cmd(ca, &args));
        let (creds, path) = (
            r.finding("registry-credentials", Some(REF)),
            r.finding("registry-reachable", Some(REF)),
        );
        (r, creds, path)
    }
}

fn message(f: &Value) -> &str {
    f["message"].as_str().unwrap_or_default()
}

#[test]
fn a_valid_login_is_verified_and_its_secret_shows_nowhere() {
    let canary = "CANARY-valid-7f3a";
    let password = ecr_password(11 * 3600, canary);
    let registry = EcrRegistry::start(HOST, HOST, &password, "unused");
    let login = Login::new(&auths(&password), registry.addr);
    let (r, creds, path) = login.json(&registry.ca, &[]);
    assert_eq!(creds["outcome"], "pass", "{creds}");
    assert!(
        message(&creds).contains("accepts the credential from auths (https://"),
        "{creds}"
    );
    assert_eq!(path["outcome"], "pass", "{path}");
    assert!(message(&path).contains("401 Basic challenge"), "{path}");
    assert_eq!(r.code, 0, "{}", r.stdout);

    let facts = login.dir.path().join("facts.json");
    let summary = login.dir.path().join("summary.md");
    let mut texts = vec![];
    for format in ["human", "json", "sarif", "junit", "github", "markdown"] {
        let mut cmd = login.cmd(
            &registry.ca,
            &["--format", format, "--save-facts", facts.to_str().unwrap()],
        );
        cmd.env("GITHUB_STEP_SUMMARY", &summary);
        let r = run(cmd);
        assert_eq!(r.code, 0, "{format}: {}{}", r.stdout, r.stderr);
        texts.extend([r.stdout, r.stderr, std::fs::read_to_string(&facts).unwrap()]);
    }
    texts.push(std::fs::read_to_string(&summary).unwrap());
    let auth = BASE64.encode(format!("AWS:{password}"));
    for text in &texts {
        for secret in [canary, password.as_str(), auth.as_str()] {
            assert!(!text.contains(secret), "a secret leaked: {text}");
        }
    }
}

#[test]
fn a_token_the_registry_refuses_fails_with_its_own_words() {
    // Not an ECR envelope, so its expiry cannot be read here: only the registry can tell.
    let refused = "CANARY-refused-91c2";
    let registry = EcrRegistry::start(HOST, HOST, "the-valid-one", refused);
    let login = Login::new(&auths(refused), registry.addr);
    let (r, creds, _) = login.json(&registry.ca, &[]);
    assert_eq!(creds["outcome"], "fail", "{creds}");
    assert!(
        message(&creds).contains(&format!("DENIED: {EXPIRED_MESSAGE}")),
        "{creds}"
    );
    assert!(
        creds["remediation"][0]["commands"][0]
            .as_str()
            .unwrap()
            .contains("aws ecr get-login-password --region us-east-1")
    );
    assert_eq!(r.code, 1);
    assert!(!r.stdout.contains(refused) && !r.stderr.contains(refused));
}

#[test]
fn an_expired_or_expiring_token_is_read_without_the_network() {
    let registry = EcrRegistry::start(HOST, HOST, "x", "y");
    // Written a minute ago by docker login, expired an hour ago: the first case.
    let expired = Login::new(&auths(&ecr_password(-3600, "CANARY-exp")), registry.addr);
    let (r, creds, path) = expired.json(&registry.ca, &["--no-login-check"]);
    assert_eq!(creds["outcome"], "fail", "{creds}");
    assert!(
        message(&creds).contains("expired at") && message(&creds).contains("(1 h ago)"),
        "{creds}"
    );
    assert_eq!(path["outcome"], "skip", "{path}");
    assert_eq!(r.code, 1);

    let expiring = Login::new(&auths(&ecr_password(20 * 60, "CANARY-soon")), registry.addr);
    let (_, creds, _) = expiring.json(&registry.ca, &["--offline"]);
    assert_eq!(creds["outcome"], "warn", "{creds}");
    assert!(
        message(&creds).contains("less than --min-token-validity (1 h)"),
        "{creds}"
    );
    let (_, creds, _) = expiring.json(&registry.ca, &["--offline", "--min-token-validity", "15m"]);
    assert_eq!(creds["outcome"], "pass", "{creds}");
    assert!(
        message(&creds).contains("not verified against the registry: --offline"),
        "{creds}"
    );
}

#[test]
fn each_broken_stage_is_named() {
    let password = ecr_password(6 * 3600, "CANARY-stages");
    let registry = EcrRegistry::start(HOST, HOST, &password, "y");
    let login = Login::new(&auths(&password), registry.addr);

    // An unknown authority: the system roots do not hold the test CA.
    let system = std::path::Path::new("/etc/ssl/certs/ca-certificates.crt");
    let (_, _, path) = login.json(system, &[]);
    assert_eq!(path["outcome"], "fail", "{path}");
    assert!(message(&path).contains("TLS to 123456789012.dkr.ecr.us-east-1.amazonaws.com failed: certificate signed by unknown authority"), "{path}");
    // --ca-file trusts it besides the system's roots.
    let (_, creds, path) = login.json(system, &["--ca-file", registry.ca.to_str().unwrap()]);
    assert_eq!(
        (&path["outcome"], &creds["outcome"]),
        (&json!("pass"), &json!("pass")),
        "{path} {creds}"
    );

    // A certificate for another name.
    let other = EcrRegistry::start(HOST, "registry.example.internal", &password, "y");
    let login_other = Login::new(&auths(&password), other.addr);
    let (_, creds, path) = login_other.json(&other.ca, &[]);
    assert_eq!(path["outcome"], "fail", "{path}");
    assert!(message(&path).contains("wrong name"), "{path}");
    assert!(message(&creds).contains("the way to it failed"), "{creds}");

    // Nothing listens.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (r, _, path) = Login::new(&auths(&password), closed).json(&registry.ca, &[]);
    assert_eq!(path["outcome"], "fail", "{path}");
    assert!(message(&path).contains("cannot connect to"), "{path}");
    assert_eq!(r.code, 1);
}

#[test]
fn a_silent_registry_ends_within_the_timeout_as_undecided() {
    let registry = EcrRegistry::start(HOST, HOST, "x", "y");
    let login = Login::new(
        &auths(&ecr_password(6 * 3600, "CANARY-silent")),
        registry.silent,
    );
    let start = Instant::now();
    let (r, _, path) = login.json(&registry.ca, &["--timeout", "1"]);
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(path["outcome"], "unknown", "{path}");
    assert!(
        message(&path).contains("did not answer at the TLS stage within --timeout"),
        "{path}"
    );
    assert_eq!(r.code, 3, "undecided, never ok");
}

#[test]
fn seen_from_here_a_remote_daemons_path_is_undecided() {
    let registry = EcrRegistry::start(HOST, HOST, "x", "y");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let login = Login::new(&auths(&ecr_password(6 * 3600, "CANARY-remote")), closed);
    let mut cmd = login.cmd(&registry.ca, &["--format", "json"]);
    cmd.env("DOCKER_HOST", "ssh://builder.example.internal");
    let r = run(cmd);
    let path = r.finding("registry-reachable", Some(REF));
    assert_eq!(path["outcome"], "unknown", "{path}");
    assert!(
        message(&path).contains("the Docker daemon at ssh://builder.example.internal (DOCKER_HOST) pushes from its own network"),
        "{path}"
    );
}

#[test]
fn a_saved_run_replays_the_registrys_answers() {
    let password = ecr_password(6 * 3600, "CANARY-replay");
    let registry = EcrRegistry::start(HOST, HOST, "another", &password);
    let login = Login::new(&auths(&password), registry.addr);
    let facts = login.dir.path().join("facts.json");
    let (first, creds, _) = login.json(&registry.ca, &["--save-facts", facts.to_str().unwrap()]);
    assert_eq!(creds["outcome"], "fail", "{creds}");
    drop(registry);
    let mut cmd = doctor(
        None,
        &[
            "check",
            "--format",
            "json",
            "--facts",
            facts.to_str().unwrap(),
        ],
    );
    cmd.env_remove("ECR_DOCTOR_NO_LOGIN_CHECK");
    let replay = run(cmd);
    for name in ["registry-credentials", "registry-reachable"] {
        let (a, b) = (
            first.finding(name, Some(REF)),
            replay.finding(name, Some(REF)),
        );
        assert_eq!(
            (&a["outcome"], &a["message"]),
            (&b["outcome"], &b["message"]),
            "{name}"
        );
    }
    assert_eq!(replay.code, first.code);
}

#[test]
fn bad_seams_are_usage_errors() {
    for (args, names) in [
        (&["--resolve", "nohost"][..], "nohost"),
        (
            &["--resolve", "h.example:not-an-ip"][..],
            "h.example:not-an-ip",
        ),
        (
            &["--ca-file", "/nonexistent/ca.pem"][..],
            "/nonexistent/ca.pem",
        ),
        (&["--min-token-validity", "13h"][..], "13h"),
    ] {
        let mut all = vec!["check"];
        all.extend_from_slice(args);
        all.push(REF);
        let r = run(doctor(None, &all));
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.contains(names) && r.stderr.lines().count() <= 3,
            "{}",
            r.stderr
        );
    }
}

#[test]
fn the_real_ecr_credential_helper_is_run_as_docker_runs_it() {
    let helper = common::peers()
        .var("ECR_DOCTOR_TEST_ECR_LOGIN")
        .expect("scripts/peers unpacks docker-credential-ecr-login: restart the peers")
        .to_string();
    // moto's GetAuthorizationToken hands out this password (no ECR envelope, so no expiry to read).
    let token = format!("{}-auth-token", common::ACCOUNT);
    let registry = EcrRegistry::start(HOST, HOST, &token, "unused");
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(&helper, bin.path().join("docker-credential-ecr-login")).unwrap();
    let config = json!({"credHelpers": {HOST: "ecr-login"}}).to_string();
    let login = Login::new(&config, registry.addr);
    let run_helper = |aws: bool| {
        // The helper keeps its cache and log under HOME/.ecr: a fresh one per run.
        let home = tempfile::tempdir().unwrap();
        let mut cmd = login.cmd(&registry.ca, &["--format", "json"]);
        cmd.env("PATH", format!("{}:/usr/bin:/bin", bin.path().display()))
            .env("HOME", home.path())
            .env("AWS_ENDPOINT_URL_ECR", common::peers().moto_url());
        if !aws {
            cmd.env_remove("AWS_ACCESS_KEY_ID")
                .env_remove("AWS_SECRET_ACCESS_KEY");
        }
        let r = run(cmd);
        let f = r.finding("registry-credentials", Some(REF));
        (r, f)
    };

    let (r, f) = run_helper(true);
    assert_eq!(f["outcome"], "pass", "{f}");
    assert!(
        message(&f)
            .contains("accepts the credential from docker-credential-ecr-login (credHelpers)"),
        "{f}"
    );
    assert!(!r.stdout.contains(&token) && !r.stderr.contains(&token));

    // No AWS credentials: it answers docker "credentials not found" and logs why; docker pushes anonymously.
    let (_, f) = run_helper(false);
    assert_eq!(f["outcome"], "fail", "{f}");
    assert!(
        message(&f).contains("docker-credential-ecr-login has no credential for")
            && message(&f).contains("it logged 'ecr: Failed to get authorization token"),
        "{f}"
    );
}

#[test]
fn behind_a_proxy_a_direct_failure_is_undecided_and_the_proxy_password_never_shows() {
    let registry = EcrRegistry::start(HOST, HOST, "x", "y");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let login = Login::new(&auths(&ecr_password(6 * 3600, "CANARY-proxy")), closed);
    let mut cmd = login.cmd(&registry.ca, &["--format", "json"]);
    cmd.env(
        "HTTPS_PROXY",
        "http://ci:CANARY-proxy-pw@proxy.example.internal:3128",
    );
    let r = run(cmd);
    let path = r.finding("registry-reachable", Some(REF));
    assert_eq!(path["outcome"], "unknown", "{path}");
    assert!(
        message(&path).contains("this shell sets the proxy http://proxy.example.internal:3128"),
        "{path}"
    );
    assert!(!r.stdout.contains("CANARY-proxy-pw"));
    // NO_PROXY covering the host: the direct path is the push's path, and its failure is a failure.
    let mut cmd = login.cmd(&registry.ca, &["--format", "json"]);
    cmd.env("HTTPS_PROXY", "http://proxy.example.internal:3128")
        .env("NO_PROXY", ".amazonaws.com");
    let path = run(cmd).finding("registry-reachable", Some(REF));
    assert_eq!(path["outcome"], "fail", "{path}");
}

#[test]
fn what_the_real_docker_login_writes_is_found_and_verified() {
    // The docker CLI logs in by itself when no daemon answers (docker/cli `loginClientSide`), resolving the
    // host with its own resolver: it reaches the stand-in through the stand-in's CONNECT proxy.
    let cli = common::peers()
        .var("ECR_DOCTOR_TEST_NEW_CLASSIC_CLI")
        .or_else(|| common::peers().var("ECR_DOCTOR_TEST_OLD_CLASSIC_CLI"))
        .expect("a docker CLI from the peers")
        .to_string();
    let canary = "CANARY-docker-login-4e7";
    let password = ecr_password(11 * 3600, canary);
    let registry = EcrRegistry::start(HOST, HOST, &password, "unused");
    let login = Login::new("{}", registry.addr);
    let mut docker = std::process::Command::new(&cli);
    docker
        .args(["login", "--username", "AWS", "--password-stdin", HOST])
        .env_clear()
        .env("HOME", login.dir.path())
        .env("DOCKER_CONFIG", login.dir.path())
        .env(
            "DOCKER_HOST",
            format!("unix://{}/no-daemon.sock", login.dir.path().display()),
        )
        .env("HTTPS_PROXY", format!("http://{}", registry.proxy))
        .env("SSL_CERT_FILE", &registry.ca)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = docker.spawn().unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(password.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "docker login: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = std::fs::read_to_string(login.dir.path().join("config.json")).unwrap();
    assert!(written.contains("auths"), "{written}");

    let (r, creds, path) = login.json(&registry.ca, &[]);
    assert_eq!(creds["outcome"], "pass", "{creds}");
    assert!(
        message(&creds).contains("accepts the credential from auths"),
        "{creds}"
    );
    assert_eq!(path["outcome"], "pass", "{path}");
    assert!(!r.stdout.contains(canary) && !r.stdout.contains(&password));
}
