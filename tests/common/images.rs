//! Local images made offline: `FROM scratch` + one file.

use std::path::Path;

use super::Engine;

impl Engine {
    /// `FROM scratch` + one file whose content makes the image unique; `extra` are build flags such as
    /// `--provenance=false`. Returns the image ID.
    pub fn build(&self, tag: &str, content: &str, extra: &[&str]) -> String {
        let dir = tempfile::tempdir().expect("tempdir");
        self.build_in(dir.path(), "FROM scratch\nCOPY f /f\n", tag, content, extra)
    }

    /// Builds `dockerfile` in `dir` with a file `f` holding `content`; returns the image ID.
    pub fn build_in(
        &self,
        dir: &Path,
        dockerfile: &str,
        tag: &str,
        content: &str,
        extra: &[&str],
    ) -> String {
        std::fs::write(dir.join("Dockerfile"), dockerfile).unwrap();
        std::fs::write(dir.join("f"), content).unwrap();
        let mut args = vec!["build", "-q", "-t", tag];
        args.extend_from_slice(extra);
        args.push(".");
        self.docker_ok(&args, Some(dir));
        self.image_id(tag)
    }

    pub fn image_id(&self, tag: &str) -> String {
        self.docker_ok(&["image", "inspect", "--format", "{{.Id}}", tag], None)
    }
}
