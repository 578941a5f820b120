//! One file per check.

pub mod artifact_attestations;
pub mod aws_identity;
pub mod build_attestations;
pub mod builder_support;
pub mod buildx;
pub mod buildx_push;
pub mod compose;
pub mod consumer;
pub mod docker_daemon;
pub mod ecr_registries;
pub mod image_shape;
pub mod image_store;
pub mod local_image;
pub mod multi_platform;
pub mod pull_through_cache;
pub mod push_permission;
pub mod push_risk;
pub mod registry_cache;
pub mod registry_credentials;
pub mod registry_reachable;
pub mod registry_ref;
pub mod repository_exists;
pub mod repository_policy;
pub mod tag_collision;
pub mod tag_mutability;

#[cfg(test)]
pub(crate) mod fixtures;
