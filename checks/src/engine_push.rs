//! How the engine's `docker push` sends an image index: on the containerd store, an engine before
//! moby#49949 PUTs every manifest of the index to the tag, which an immutable tag refuses from the second
//! on (F2, F3). push-risk (`docker push`) and buildx-push (a docker-driver build pushed again by the
//! engine) both fail only when it does, so they share its two conditions and the evidence of a failure.

use crate::check::{Context, Unknown, Verdict};
use crate::facts::CONTAINERD_SNAPSHOTTER;
use crate::version::EngineVer;

/// The engine's two conditions, each known false, known true or unknown.
pub struct EnginePush<'a> {
    /// The containerd image store (`GET /info`); false: the classic store pushes one manifest.
    pub containerd: Result<bool, Unknown>,
    /// The engine version (`GET /version`), parsed and as reported.
    pub engine: Result<(EngineVer, &'a str), Unknown>,
}

impl<'a> Context<'a> {
    pub fn engine_push(&self) -> EnginePush<'a> {
        EnginePush {
            containerd: self.engine_info().map(|i| i.uses_containerd_store()),
            engine: self.engine_version(),
        }
    }
}

impl<'a> EnginePush<'a> {
    /// Known false: the classic store pushes one manifest, whatever the engine.
    pub fn on_classic_store(&self) -> bool {
        matches!(self.containerd, Ok(false))
    }

    /// Known false: the engine, when it sends an index's children by digest and only the root by tag.
    pub fn by_digest(&self) -> Option<(EngineVer, &'a str)> {
        self.engine
            .as_ref()
            .ok()
            .filter(|(v, _)| v.pushes_children_by_digest())
            .copied()
    }

    /// The evidence of a failure that rests on both holding, `raw` being the engine's version.
    pub fn evidence(verdict: Verdict, raw: &str) -> Verdict {
        verdict
            .evidence("driver-type", CONTAINERD_SNAPSHOTTER)
            .evidence("Version", EngineVer::before_children_by_digest(raw))
    }
}
