//! Replays of the bundled facts files.

use super::{Run, doctor, run};

/// `ecr-doctor check --facts FILE [extra…]` in the package root (the bundled facts paths are relative).
pub fn replay(file: &str, extra: &[&str]) -> Run {
    let mut args = vec!["check", "--facts", file];
    args.extend_from_slice(extra);
    let mut cmd = doctor(None, &args);
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    run(cmd)
}
