//! One finding of a run's JSON report.

use serde_json::Value;

use super::Run;

impl Run {
    /// The finding of check `name` for `target` (None for environment checks).
    pub fn finding(&self, name: &str, target: Option<&str>) -> Value {
        self.json()["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["check"] == name && f["target"].as_str() == target)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} finding for {target:?} in {}", self.stdout))
    }
}
