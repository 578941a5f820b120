//! The gate's log of manifest PUTs, for assertions on what a push sent.

use crate::gate::{Gate, ManifestPut};

impl Gate {
    /// A position in the PUT log: [`Gate::puts_since`] returns what came after it.
    pub fn mark(&self) -> u64 {
        self.state.puts.lock().unwrap().len() as u64
    }

    /// The manifest PUTs to `repo` after `mark`.
    pub fn puts_since(&self, mark: u64, repo: &str) -> Vec<ManifestPut> {
        self.state.puts.lock().unwrap()[mark as usize..]
            .iter()
            .filter(|p| p.repo == repo)
            .cloned()
            .collect()
    }
}
