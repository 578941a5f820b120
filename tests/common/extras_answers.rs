//! The answers a test gives the stand-in for the ECR APIs moto lacks (`ecr_extras`).

use serde_json::{Value, json};

use super::ACCOUNT;

/// A template of the API's shape.
pub fn template(prefix: &str, applied_for: &[&str], mode: &str) -> Value {
    json!({
        "prefix": prefix,
        "appliedFor": applied_for,
        "imageTagMutability": mode,
        "imageTagMutabilityExclusionFilters": [],
        "createdAt": 1.7e9,
        "updatedAt": 1.7e9,
    })
}

/// A pull-through cache rule of the API's shape.
pub fn rule(prefix: &str, upstream: &str) -> Value {
    json!({
        "ecrRepositoryPrefix": prefix,
        "upstreamRegistryUrl": upstream,
        "upstreamRegistry": "docker-hub",
        "upstreamRepositoryPrefix": "ROOT",
        "registryId": ACCOUNT,
        "createdAt": 1.7e9,
    })
}
