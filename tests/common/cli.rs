//! The built binary, run with a clean environment against the peers.

use std::process::Command;
use std::time::Instant;

use super::{Engine, Run, docker_config, peers, peers_dir};

/// The shared moto's URL when the peers run (the replay tests run without them).
fn running_moto() -> Option<String> {
    peers_dir()
        .join("env")
        .exists()
        .then(|| peers().moto_url().to_string())
}

/// The binary with a clean environment pointed at `engine` and moto. The registry hosts of the tests
/// (`ACCOUNT.dkr.ecr.REGION.amazonaws.com`) have no registry behind them here, so the login check is off;
/// tests/login.rs turns it on against its own registry stand-in.
pub fn doctor(engine: Option<&Engine>, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ecr-doctor"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .env("DOCKER_CONFIG", docker_config())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        // The tests' ECR hosts have no registry behind them: tests/login.rs turns the check back on.
        .env("ECR_DOCTOR_NO_LOGIN_CHECK", "true");
    // moto's STS answers GetCallerIdentity for any credentials, as STS does for valid ones.
    // IAM too (GetRole; moto has no SimulatePrincipalPolicy, so push-permission stays an advisory unknown
    // unless a test puts tests/common/iam_sim.rs in front).
    if let Some(url) = running_moto() {
        cmd.env("AWS_ENDPOINT_URL_STS", &url)
            .env("AWS_ENDPOINT_URL_IAM", url);
    }
    if let Some(e) = engine {
        cmd.env("DOCKER_HOST", &e.host);
    }
    cmd
}

pub fn run(mut cmd: Command) -> Run {
    let start = Instant::now();
    let out = cmd.output().expect("ecr-doctor runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).expect("UTF-8 on stdout"),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: start.elapsed(),
    }
}
