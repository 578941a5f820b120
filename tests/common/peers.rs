//! The real peers started by `scripts/peers`: their addresses, from `$ECR_DOCTOR_PEERS_DIR/env`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The peers' addresses, from `$ECR_DOCTOR_PEERS_DIR/env` (written by `scripts/peers start`).
pub struct Peers {
    vars: HashMap<String, String>,
}

/// Where `scripts/peers` keeps its state: `$ECR_DOCTOR_PEERS_DIR`, else the package's `target/peers`.
pub fn peers_dir() -> PathBuf {
    std::env::var("ECR_DOCTOR_PEERS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/peers"))
}

pub fn peers() -> &'static Peers {
    static PEERS: OnceLock<Peers> = OnceLock::new();
    PEERS.get_or_init(|| {
        let dir = peers_dir();
        let text = std::fs::read_to_string(dir.join("env")).unwrap_or_else(|e| {
            panic!(
                "the test peers are not running ({}: {e}); run the tests with scripts/test",
                dir.display()
            )
        });
        let vars = text
            .lines()
            .filter_map(|l| l.strip_prefix("export ")?.split_once('='))
            .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
            .collect();
        Peers { vars }
    })
}

impl Peers {
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    pub fn moto_url(&self) -> &str {
        self.var("ECR_DOCTOR_TEST_MOTO_URL").expect("moto runs")
    }
}
