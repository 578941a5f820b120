//! The distribution registry the peers run, for real pushes (through the gate, or straight).

use super::Peers;

impl Peers {
    pub fn registry(&self) -> &str {
        self.var("ECR_DOCTOR_TEST_REGISTRY")
            .expect("the registry runs")
    }
}
