//! The engines the peers run, by name.

use super::{Engine, Peers};

impl Peers {
    /// An engine by name (`old-containerd`, `old-classic`, `new-containerd`, `new-classic`); `None` when
    /// the distribution could not provide it.
    pub fn engine(&self, name: &str) -> Option<Engine> {
        let key = name.to_uppercase().replace('-', "_");
        let get = |what: &str| {
            self.var(&format!("ECR_DOCTOR_TEST_{key}_{what}"))
                .map(str::to_string)
        };
        Some(Engine {
            name: name.to_string(),
            host: get("HOST")?,
            cli: get("CLI")?,
            config: get("CONFIG")?,
            version: get("VERSION")?,
        })
    }

    pub fn required_engine(&self, name: &str) -> Engine {
        self.engine(name)
            .unwrap_or_else(|| panic!("engine {name} is not running: see scripts/peers status"))
    }
}
