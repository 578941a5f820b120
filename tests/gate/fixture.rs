//! The gate's fixture side: set up and read ECR state in moto (blocking; callable from any thread), and
//! for scripts/demo, the gate as a server that logs its PUTs.

use std::sync::atomic::Ordering;

use aws_sdk_ecr::types::ImageTagMutability;

use crate::common::wildcard_filters;
use crate::gate::Gate;

impl Gate {
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Print one line per manifest PUT on stderr (for scripts/demo).
    pub fn log_puts(&self, on: bool) {
        self.state.log.store(on, Ordering::Relaxed);
    }

    /// Creates a repository with a tag mutability mode and WILDCARD exclusion filters.
    pub fn create_repository(&self, name: &str, mode: &str, filters: &[&str]) {
        let req = self
            .state
            .ecr
            .create_repository()
            .repository_name(name)
            .image_tag_mutability(ImageTagMutability::from(mode))
            .set_image_tag_mutability_exclusion_filters(wildcard_filters(filters));
        self.block_on(req.send())
            .unwrap_or_else(|e| panic!("create repository {name}: {e:?}"));
    }

    /// Changes a repository's tag mutability mode and exclusion filters (`PutImageTagMutability`).
    pub fn set_tag_mutability(&self, name: &str, mode: &str, filters: &[&str]) {
        let req = self
            .state
            .ecr
            .put_image_tag_mutability()
            .repository_name(name)
            .image_tag_mutability(ImageTagMutability::from(mode))
            .set_image_tag_mutability_exclusion_filters(wildcard_filters(filters));
        self.block_on(req.send())
            .unwrap_or_else(|e| panic!("put tag mutability {name}: {e:?}"));
    }

    /// The digest `tag` holds in moto, if any.
    pub fn tag_digest(&self, repo: &str, tag: &str) -> Option<String> {
        self.block_on(self.state.tag_digest(repo, tag))
            .unwrap_or_else(|e| panic!("describe {repo}:{tag}: {e}"))
    }

    fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.as_ref().unwrap().block_on(f)
    }
}
