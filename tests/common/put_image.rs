//! Images that exist in ECR before the run, put straight into moto.

use super::Moto;

impl Moto {
    /// Makes `tag` exist in ECR with `digest`. moto does not hash the manifest itself, so the digest is
    /// passed as ECR would compute it for these exact bytes (see the peers' notes).
    pub fn put_image(&self, repo: &str, tag: &str, manifest: &str, digest: &str) {
        let req = self
            .client
            .put_image()
            .repository_name(repo)
            .image_tag(tag)
            .image_manifest(manifest)
            .image_digest(digest);
        self.rt
            .block_on(req.send())
            .unwrap_or_else(|e| panic!("put {repo}:{tag}: {e:?}"));
    }
}
