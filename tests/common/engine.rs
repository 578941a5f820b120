//! A real dockerd of the peers and its own docker CLI (with buildx).

use std::fmt;

#[derive(Clone)]
pub struct Engine {
    pub name: String,
    pub host: String,
    pub cli: String,
    pub config: String,
    pub version: String,
}

/// Which engine, for assertion messages.
impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (dockerd {} at {}, CLI {}, DOCKER_CONFIG {})",
            self.name, self.version, self.host, self.cli, self.config
        )
    }
}
