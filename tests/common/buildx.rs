//! Pairing any engine's docker CLI with any buildx client.

use std::path::Path;

use super::{docker_config, peers};

/// A docker CLI config dir holding the tests' logins and, with `buildx`, that plugin binary as the CLI's
/// buildx (`cli-plugins/docker-buildx`): how a test pairs any engine's CLI with any buildx client.
pub fn cli_config_in(dir: &Path, buildx: Option<&str>) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::copy(docker_config().join("config.json"), dir.join("config.json")).unwrap();
    if let Some(plugin) = buildx {
        std::fs::create_dir_all(dir.join("cli-plugins")).unwrap();
        std::os::unix::fs::symlink(plugin, dir.join("cli-plugins/docker-buildx")).unwrap();
    }
}

/// The buildx of a Debian distribution the peers unpacked: `trixie` (0.13.1) or `sid` (0.29.1).
pub fn buildx_plugin(dist: &str) -> String {
    let var = format!("ECR_DOCTOR_TEST_BUILDX_{}", dist.to_uppercase());
    peers()
        .var(&var)
        .unwrap_or_else(|| panic!("{var} is not in the peers' env file"))
        .to_string()
}
