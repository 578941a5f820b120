//! The docker config the tests run with: `docker login` tokens for the test account's registries.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;

use super::FAKE_REGISTRY_TOKEN;

pub const ACCOUNT: &str = "123456789012";

/// A docker config dir as `docker login` leaves it for the test registries' hosts (written fresh per
/// test process: a login older than 12 hours is reported as probably expired).
pub fn docker_config() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("docker-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let auths: serde_json::Map<String, Value> = ["us-east-1", "eu-west-1"]
            .iter()
            .map(|region| {
                let host = format!("{ACCOUNT}.dkr.ecr.{region}.amazonaws.com");
                (host, serde_json::json!({ "auth": FAKE_REGISTRY_TOKEN }))
            })
            .collect();
        std::fs::write(
            dir.join("config.json"),
            serde_json::json!({ "auths": auths }).to_string(),
        )
        .unwrap();
        dir
    })
}
