//! The outcome of one finding.

use super::Run;

impl Run {
    /// The outcome of check `name` for `target` (None for environment checks).
    pub fn outcome(&self, name: &str, target: Option<&str>) -> String {
        self.finding(name, target)["outcome"]
            .as_str()
            .unwrap()
            .to_string()
    }
}
