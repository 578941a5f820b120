//! The git commit for `ecr-doctor --version`: from the checkout (`git`), else from `.commit` as `git
//! archive` fills it in a source tarball (export-subst, .gitattributes), else from the
//! `.cargo_vcs_info.json` that `cargo package` writes into a crate, else "unknown": a build never fails
//! for want of git. No environment override: cargo test and nextest export this build's
//! ECR_DOCTOR_COMMIT to the tests, and a build started from a test would take that stale value.

use std::{path::Path, process::Command};

fn main() {
    let commit = from_git()
        .or_else(from_archive)
        .or_else(from_vcs_info)
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=ECR_DOCTOR_COMMIT={commit}");
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !text.is_empty()).then_some(text)
}

fn from_git() -> Option<String> {
    // Outside a checkout of this crate (a tarball unpacked inside some other repository) git would answer
    // for the wrong project.
    let top = std::fs::canonicalize(git(&["rev-parse", "--show-toplevel"])?).ok()?;
    if top != std::fs::canonicalize(env!("CARGO_MANIFEST_DIR")).ok()? {
        return None;
    }
    let commit = git(&["rev-parse", "--short=12", "HEAD"])?;
    // Rebuild when HEAD moves: HEAD itself (a checkout) and the branch it points to (a commit).
    for path in ["HEAD", "packed-refs"] {
        watch(git(&["rev-parse", "--git-path", path]));
    }
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watch(git(&["rev-parse", "--git-path", &branch]));
    }
    Some(commit)
}

fn watch(path: Option<String>) {
    if let Some(path) = path.filter(|p| Path::new(p).exists()) {
        println!("cargo:rerun-if-changed={path}");
    }
}

fn from_archive() -> Option<String> {
    // In the repository the file holds the placeholder itself.
    let text = std::fs::read_to_string(".commit").ok()?;
    let commit = text.trim();
    (!commit.starts_with("$Format")).then(|| commit.chars().take(12).collect())
}

fn from_vcs_info() -> Option<String> {
    // {"git": {"sha1": "…"}, "path_in_vcs": ""}
    let text = std::fs::read_to_string(".cargo_vcs_info.json").ok()?;
    let info: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some(info["git"]["sha1"].as_str()?.chars().take(12).collect())
}
