//! The docker CLI of an engine.

use std::path::Path;
use std::process::{Command, Output};

use super::Engine;

impl Engine {
    pub fn docker(&self, args: &[&str], dir: Option<&Path>) -> Output {
        let mut cmd = Command::new(&self.cli);
        cmd.args(args)
            .env("DOCKER_HOST", &self.host)
            .env("DOCKER_CONFIG", &self.config);
        if let Some(d) = dir {
            cmd.current_dir(d);
        }
        cmd.output().expect("docker CLI runs")
    }

    pub fn docker_ok(&self, args: &[&str], dir: Option<&Path>) -> String {
        let out = self.docker(args, dir);
        assert!(
            out.status.success(),
            "docker {args:?} on {}: {}",
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}
