//! Facts: everything the probes saw, as plain serde data. Checks read nothing else, so a run can be
//! saved to a file and replayed with no Docker and no AWS.

use serde::{Deserialize, Serialize};

/// Version of the facts file format; bumped on any incompatible change.
pub const FACTS_SCHEMA_VERSION: u32 = 1;

/// One observation. A probe that could not observe says why, so a check can answer Unknown
/// with the reason instead of guessing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Fact<T> {
    Observed {
        value: T,
    },
    /// Not observed: unreachable, timed out, not supported by this engine, offline, …
    Unavailable {
        why: String,
    },
    /// The AWS principal may not call `action`.
    Denied {
        action: String,
        why: String,
    },
    /// Not gathered by the user's choice (`--offline`, `--skip`): a check that needs it is skipped, not
    /// unknown.
    Skipped {
        why: String,
    },
}

impl<T> Fact<T> {
    pub fn observed(value: T) -> Self {
        Fact::Observed { value }
    }

    pub fn unavailable(why: impl Into<String>) -> Self {
        Fact::Unavailable { why: why.into() }
    }

    pub fn skipped(why: impl Into<String>) -> Self {
        Fact::Skipped { why: why.into() }
    }

    pub fn value(&self) -> Option<&T> {
        match self {
            Fact::Observed { value } => Some(value),
            _ => None,
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Fact<U> {
        match self {
            Fact::Observed { value } => Fact::Observed { value: f(value) },
            Fact::Unavailable { why } => Fact::Unavailable { why },
            Fact::Denied { action, why } => Fact::Denied { action, why },
            Fact::Skipped { why } => Fact::Skipped { why },
        }
    }
}

/// Everything gathered for one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    pub schema_version: u32,
    pub docker: DockerFacts,
    /// The build-related environment variables of this shell.
    #[serde(default = "not_recorded")]
    pub build_env: Fact<BuildEnv>,
    #[serde(default)]
    pub targets: Vec<TargetFacts>,
}

impl Facts {
    /// The facts of a run before any probe answered: every one "not gathered", so a fact no probe fills
    /// stays unknown instead of passing.
    pub fn not_gathered<'a>(targets: impl IntoIterator<Item = (&'a String, &'a String)>) -> Facts {
        fn why<T>() -> Fact<T> {
            Fact::unavailable("not gathered: no probe answered for it")
        }
        Facts {
            schema_version: FACTS_SCHEMA_VERSION,
            docker: DockerFacts {
                endpoint: "(not contacted)".into(),
                version: why(),
                info: why(),
            },
            build_env: why(),
            targets: targets
                .into_iter()
                .map(|(reference, local_image)| TargetFacts {
                    reference: reference.clone(),
                    local_image: local_image.clone(),
                    local: why(),
                    repository: why(),
                    remote_tag: why(),
                    credentials: why(),
                })
                .collect(),
        }
    }
}

/// The `BUILDX_*` variables that change what `docker build` produces (names in `BUILD_ENV_VARS`), as set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BuildEnv {
    #[serde(default)]
    pub vars: std::collections::BTreeMap<String, String>,
}

/// The variables `BuildEnv` records: the real one, and its common misspelling (docker/buildx#1695).
pub const BUILD_ENV_VARS: [&str; 2] = [
    "BUILDX_NO_DEFAULT_ATTESTATIONS",
    "BUILDX_NO_DEFAULT_ATTESTATION",
];

/// The Docker engine that `docker push` would use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DockerFacts {
    /// Where the engine was looked for, e.g. `unix:///var/run/docker.sock`, and why there.
    pub endpoint: String,
    /// `GET /version`; Unavailable when the daemon cannot be reached.
    pub version: Fact<EngineVersion>,
    /// `GET /info`.
    pub info: Fact<EngineInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngineVersion {
    /// Engine version as reported, e.g. `26.1.5+dfsg1`.
    pub version: String,
    pub api_version: String,
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub arch: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngineInfo {
    /// `overlay2` on the classic store; the snapshotter name (`overlayfs`) on the containerd store.
    pub driver: String,
    /// `DriverStatus` pairs, e.g. `["driver-type", "io.containerd.snapshotter.v1"]`.
    #[serde(default)]
    pub driver_status: Vec<(String, String)>,
}

/// The `DriverStatus` value that marks the containerd image store (moby `daemon/containerd/service.go`).
pub const CONTAINERD_SNAPSHOTTER: &str = "io.containerd.snapshotter.v1";

impl EngineInfo {
    pub fn driver_type(&self) -> Option<&str> {
        self.driver_status
            .iter()
            .find(|(k, _)| k == "driver-type")
            .map(|(_, v)| v.as_str())
    }

    pub fn uses_containerd_store(&self) -> bool {
        self.driver_type() == Some(CONTAINERD_SNAPSHOTTER)
    }
}

/// One image reference to be pushed, and what was seen locally and in ECR for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetFacts {
    /// The ECR reference as given, e.g. `123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:v42`.
    pub reference: String,
    /// The local image that would be pushed (the reference itself unless `--local-image` said otherwise).
    pub local_image: String,
    /// `None`: no such image in the engine.
    pub local: Fact<Option<LocalImage>>,
    /// `DescribeRepositories`; `None`: the repository does not exist.
    pub repository: Fact<Option<Repository>>,
    /// `DescribeImages` (or `BatchGetImage`) for the tag; `None`: the tag is not in ECR.
    pub remote_tag: Fact<Option<RemoteImage>>,
    /// How the docker CLI would authenticate to the registry host.
    #[serde(default = "not_recorded")]
    pub credentials: Fact<Credentials>,
}

fn not_recorded<T>() -> Fact<T> {
    Fact::unavailable("not recorded in this facts file")
}

/// What `$DOCKER_CONFIG/config.json` says about one registry host. Presence only: a token's value is
/// never read into facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Credentials {
    pub config_path: String,
    /// `credHelpers[host]`, e.g. `ecr-login`.
    #[serde(default)]
    pub helper: Option<String>,
    /// `credsStore`, e.g. `desktop`, `osxkeychain`, `pass`.
    #[serde(default)]
    pub store: Option<String>,
    /// `docker-credential-<name>` programs of the helper or store that were not found on PATH.
    #[serde(default)]
    pub missing_programs: Vec<String>,
    /// `auths[host]` exists (written by `docker login`).
    #[serde(default)]
    pub logged_in: bool,
    /// `auths[host].auth` holds a token in the file itself.
    #[serde(default)]
    pub inline_token: bool,
    /// Seconds since config.json was last written: with an inline token, roughly since the last login.
    #[serde(default)]
    pub config_age_secs: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalImage {
    /// On the containerd store, the digest of the image's root (index or manifest); on the classic
    /// store, the config digest.
    pub id: String,
    /// The image's tags in the target's ECR repository or its local name's repository.
    #[serde(default)]
    pub repo_tags: Vec<String>,
    /// `name@sha256:…` in those repositories, where this image was pushed to or pulled from.
    #[serde(default)]
    pub repo_digests: Vec<String>,
    /// What one `docker push` of this image sends.
    pub shape: Fact<ImageShape>,
}

/// The artifact a push would send: one manifest, or an index and its children.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageShape {
    /// Media type of the root, e.g. `application/vnd.oci.image.index.v1+json`.
    pub media_type: String,
    /// Root digest where the engine knows it (`sha256:…`).
    #[serde(default)]
    pub digest: Option<String>,
    /// Children of an index (empty for a single manifest).
    #[serde(default)]
    pub manifests: Vec<ChildManifest>,
    /// How the shape was learnt, e.g. `GET /images/json?manifests=1`.
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChildManifest {
    pub digest: String,
    /// `image`, `attestation` or `unknown`, as the engine's `Manifests[].Kind`.
    pub kind: String,
    /// `os/arch[/variant]`; attestations show `unknown/unknown`.
    #[serde(default)]
    pub platform: Option<String>,
    /// Whether the content is present locally (missing content changes how engines push: F16).
    #[serde(default = "yes")]
    pub available: bool,
}

fn yes() -> bool {
    true
}

pub const MEDIA_TYPE_OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const MEDIA_TYPE_DOCKER_LIST: &str =
    "application/vnd.docker.distribution.manifest.list.v2+json";
pub const MEDIA_TYPE_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const MEDIA_TYPE_OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

impl ImageShape {
    pub fn is_index(&self) -> bool {
        self.media_type == MEDIA_TYPE_OCI_INDEX || self.media_type == MEDIA_TYPE_DOCKER_LIST
    }

    pub fn attestations(&self) -> usize {
        self.manifests
            .iter()
            .filter(|m| m.kind == "attestation")
            .count()
    }

    pub fn platforms(&self) -> Vec<&str> {
        self.manifests
            .iter()
            .filter(|m| m.kind == "image")
            .filter_map(|m| m.platform.as_deref())
            .collect()
    }

    /// "index: 1 image (linux/amd64) + 1 attestation" / "single manifest".
    pub fn describe(&self) -> String {
        if !self.is_index() {
            return "single image manifest".into();
        }
        let images = self.manifests.iter().filter(|m| m.kind == "image").count();
        let mut s = format!("image index: {images} image manifest{}", plural(images));
        let platforms = self.platforms();
        if !platforms.is_empty() {
            s += &format!(" ({})", platforms.join(", "));
        }
        let att = self.attestations();
        if att > 0 {
            s += &format!(" + {att} attestation manifest{}", plural(att));
        }
        s
    }
}

pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// An ECR repository as `DescribeRepositories` returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Repository {
    pub name: String,
    pub registry_id: String,
    #[serde(default)]
    pub uri: String,
    /// `imageTagMutability`, kept raw so a value this tool does not know is shown as it is.
    pub tag_mutability: String,
    #[serde(default)]
    pub exclusion_filters: Vec<ExclusionFilter>,
}

/// `imageTagMutabilityExclusionFilters[]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExclusionFilter {
    pub filter_type: String,
    pub filter: String,
}

/// The image a tag points at in ECR.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteImage {
    pub digest: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub manifest_media_type: Option<String>,
    #[serde(default)]
    pub artifact_media_type: Option<String>,
    #[serde(default)]
    pub size_bytes: Option<i64>,
    /// `imageStatus`: ACTIVE, ARCHIVED, ACTIVATING.
    #[serde(default)]
    pub status: Option<String>,
    /// The API call that saw it: `DescribeImages` or `BatchGetImage`.
    pub source: String,
}
