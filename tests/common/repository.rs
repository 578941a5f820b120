//! A fresh repository to check a reference against.

use super::{ecr_ref, moto, unique};

/// A new ECR repository in moto (a unique name from `prefix`), and the reference of its tag `v1`.
pub fn repository(prefix: &str, mode: &str) -> (String, String) {
    let repo = unique(prefix);
    moto().create_repository(&repo, mode, &[]);
    let r = ecr_ref(&repo, "v1");
    (repo, r)
}
