//! The Docker engine: `/version`, `/info`, and the local images (GET requests only).

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use bollard::Docker;
use bollard::errors::Error as DockerError;
use bollard::query_parameters::ListImagesOptionsBuilder;
use ecr_doctor_checks::facts::{
    ChildManifest, DockerFacts, EngineInfo, EngineVersion, Fact, ImageShape, LocalImage,
    MEDIA_TYPE_DOCKER_MANIFEST,
};
use futures_util::TryStreamExt;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{Target, bounded, error_chain};

const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";
/// The API version from which `manifests=1` lists an image's manifests (moby api/docs/CHANGELOG.md).
const MANIFESTS_API: (u32, u32) = (1, 48);
/// How much of an image export is read to find its index before giving up.
const EXPORT_READ_LIMIT: u64 = 64 << 20;

/// One local-image fact per target, like `probe`, so the caller's per-target zip never drops a target.
pub fn not_probed(targets: &[Target], why: &str) -> (DockerFacts, Vec<Fact<Option<LocalImage>>>) {
    (
        DockerFacts {
            endpoint: "(not contacted)".into(),
            version: Fact::unavailable(why),
            info: Fact::unavailable(why),
        },
        targets.iter().map(|_| Fact::unavailable(why)).collect(),
    )
}
pub async fn probe(
    targets: &[Target],
    want_images: bool,
    timeout: Duration,
) -> (DockerFacts, Vec<Fact<Option<LocalImage>>>) {
    let (endpoint, source) = match resolve_endpoint() {
        Ok(e) => e,
        Err(why) => return unreachable("(unresolved)".into(), why, targets.len()),
    };
    let shown = format!("{endpoint} ({source})");
    let docker = match Docker::connect_with_host(&endpoint) {
        // Our own per-call bound fires first with a clearer message; bollard's is the backstop.
        Ok(d) => d.with_timeout(timeout + Duration::from_secs(1)),
        Err(e) => return unreachable(shown, error_chain(&e), targets.len()),
    };
    let (version, info) = tokio::join!(
        bounded(timeout, "the Docker engine (GET /version)", async {
            engine_call(docker.version().await)
        }),
        bounded(timeout, "the Docker engine (GET /info)", async {
            engine_call(docker.info().await)
        }),
    );
    let version = version.map(|v| EngineVersion {
        version: v.version.unwrap_or_default(),
        api_version: v.api_version.unwrap_or_default(),
        os: v.os.unwrap_or_default(),
        arch: v.arch.unwrap_or_default(),
    });
    if let Fact::Unavailable { why } = &version {
        // One unreachable engine explains every row: don't wait on it again per image.
        return unreachable(shown, why.clone(), targets.len());
    }
    let info = info.map(|i| EngineInfo {
        driver: i.driver.unwrap_or_default(),
        driver_status: i
            .driver_status
            .unwrap_or_default()
            .into_iter()
            .filter_map(|pair| match pair.as_slice() {
                [k, v] => Some((k.clone(), v.clone())),
                _ => None,
            })
            .collect(),
    });
    let images = if want_images {
        let api = version.value().and_then(|v| parse_api(&v.api_version));
        let containerd = info.value().map(EngineInfo::uses_containerd_store);
        let probes = targets.iter().map(|t| {
            bounded(
                timeout,
                "the Docker engine (local image)",
                local_image(&docker, &t.local_image, api, containerd),
            )
        });
        futures_util::future::join_all(probes).await
    } else {
        targets
            .iter()
            .map(|_| Fact::unavailable(super::NOT_NEEDED))
            .collect()
    };
    (
        DockerFacts {
            endpoint: shown,
            version,
            info,
        },
        images,
    )
}

fn unreachable(
    endpoint: String,
    why: String,
    n: usize,
) -> (DockerFacts, Vec<Fact<Option<LocalImage>>>) {
    let images = (0..n)
        .map(|_| Fact::unavailable(format!("the Docker engine is unreachable: {why}")))
        .collect();
    (
        DockerFacts {
            endpoint,
            version: Fact::unavailable(why.clone()),
            info: Fact::unavailable(why),
        },
        images,
    )
}

fn engine_call<T>(r: Result<T, DockerError>) -> Fact<T> {
    r.map_or_else(|e| Fact::unavailable(error_chain(&e)), Fact::observed)
}

async fn local_image(
    docker: &Docker,
    name: &str,
    api: Option<(u32, u32)>,
    containerd: Option<bool>,
) -> Fact<Option<LocalImage>> {
    let inspect = match docker.inspect_image(name).await {
        Ok(i) => i,
        Err(DockerError::DockerResponseServerError {
            status_code: 404, ..
        }) => return Fact::observed(None),
        Err(e) => return Fact::unavailable(error_chain(&e)),
    };
    let id = inspect.id.clone().unwrap_or_default();
    let shape = match containerd {
        None => Fact::unavailable("the engine's image store is unknown (GET /info failed)"),
        // A graphdriver store holds one manifest per image; `docker push` sends exactly that.
        Some(false) => Fact::observed(ImageShape {
            media_type: MEDIA_TYPE_DOCKER_MANIFEST.into(),
            digest: None,
            manifests: vec![],
            source: "classic image store (one manifest per image)".into(),
        }),
        Some(true) if api.is_some_and(|v| v >= MANIFESTS_API) => listed_shape(docker, name).await,
        Some(true) => exported_shape(docker, name, &id).await,
    };
    Fact::observed(Some(LocalImage {
        id,
        repo_tags: inspect.repo_tags.unwrap_or_default(),
        repo_digests: inspect.repo_digests.unwrap_or_default(),
        shape,
    }))
}

/// API ≥ 1.48: `GET /images/json?manifests=1&filters={"reference":[name]}`.
async fn listed_shape(docker: &Docker, name: &str) -> Fact<ImageShape> {
    let filters = HashMap::from([("reference", vec![name])]);
    let opts = ListImagesOptionsBuilder::new()
        .manifests(true)
        .filters(&filters)
        .build();
    let list = match docker.list_images(Some(opts)).await {
        Ok(l) => l,
        Err(e) => return Fact::unavailable(error_chain(&e)),
    };
    let Some(summary) = list.into_iter().next() else {
        return Fact::unavailable(format!("the engine listed no image for '{name}'"));
    };
    let Some(descriptor) = summary.descriptor else {
        return Fact::unavailable("the engine returned no Descriptor for the image");
    };
    let manifests = summary
        .manifests
        .unwrap_or_default()
        .into_iter()
        .map(|m| ChildManifest {
            digest: m.descriptor.digest.unwrap_or_default(),
            kind: m
                .kind
                .map(|k| k.to_string())
                .unwrap_or_else(|| "unknown".into()),
            platform: m
                .image_data
                .map(|d| platform(d.platform.os, d.platform.architecture, d.platform.variant))
                .or_else(|| {
                    m.descriptor
                        .platform
                        .map(|p| platform(p.os, p.architecture, p.variant))
                }),
            available: m.available,
        })
        .collect();
    Fact::observed(ImageShape {
        media_type: descriptor.media_type.unwrap_or_default(),
        digest: descriptor.digest,
        manifests,
        source: "GET /images/json?manifests=1".into(),
    })
}

fn platform(os: Option<String>, arch: Option<String>, variant: Option<String>) -> String {
    let mut p = format!("{}/{}", os.unwrap_or_default(), arch.unwrap_or_default());
    if let Some(v) = variant.filter(|v| !v.is_empty()) {
        p = format!("{p}/{v}");
    }
    p
}

/// Engines before API 1.48 cannot list an image's manifests. On the containerd store the image ID is the
/// root digest, and the image export (`GET /images/{name}/get`, read-only) carries the root blob: read the
/// stream until that blob, then drop the connection.
async fn exported_shape(docker: &Docker, name: &str, id: &str) -> Fact<ImageShape> {
    let Some(hex) = id.strip_prefix("sha256:").map(str::to_string) else {
        return Fact::unavailable(format!("image ID '{id}' is not a sha256 digest"));
    };
    let stream = docker.export_image(name).map_err(std::io::Error::other);
    let reader = tokio_util::io::SyncIoBridge::new(tokio_util::io::StreamReader::new(stream));
    let want = format!("blobs/sha256/{hex}");
    let found = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, String> {
        let mut archive = tar::Archive::new(reader.take(EXPORT_READ_LIMIT));
        for entry in archive.entries().map_err(|e| e.to_string())? {
            let mut entry = entry.map_err(|e| e.to_string())?;
            if entry
                .path()
                .map(|p| p.to_string_lossy() == want)
                .unwrap_or(false)
            {
                let mut blob = Vec::new();
                entry
                    .by_ref()
                    .take(4 << 20)
                    .read_to_end(&mut blob)
                    .map_err(|e| e.to_string())?;
                return Ok(blob);
            }
        }
        Err(format!(
            "the root blob was not in the first {} MiB of the export",
            EXPORT_READ_LIMIT >> 20
        ))
    })
    .await;
    let blob = match found {
        Ok(Ok(b)) => b,
        Ok(Err(why)) => {
            return Fact::unavailable(format!(
                "cannot read the image's manifest from its export: {why}"
            ));
        }
        Err(e) => return Fact::unavailable(format!("export reader failed: {e}")),
    };
    match serde_json::from_slice::<OciRoot>(&blob) {
        Ok(root) => Fact::observed(root.into_shape(id)),
        Err(e) => Fact::unavailable(format!("the image's root manifest is not JSON: {e}")),
    }
}

/// The parts of an OCI index / image manifest that tell its shape.
#[derive(Deserialize)]
struct OciRoot {
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<Vec<OciChild>>,
}

#[derive(Deserialize)]
struct OciChild {
    digest: String,
    #[serde(default)]
    platform: Option<OciPlatform>,
    #[serde(default)]
    annotations: HashMap<String, String>,
}

#[derive(Deserialize)]
struct OciPlatform {
    os: Option<String>,
    architecture: Option<String>,
    variant: Option<String>,
}

impl OciRoot {
    fn into_shape(self, id: &str) -> ImageShape {
        let is_index = self.manifests.is_some();
        let media_type = self.media_type.unwrap_or_else(|| {
            if is_index {
                ecr_doctor_checks::facts::MEDIA_TYPE_OCI_INDEX
            } else {
                "application/vnd.oci.image.manifest.v1+json"
            }
            .into()
        });
        let manifests = self
            .manifests
            .unwrap_or_default()
            .into_iter()
            .map(|c| ChildManifest {
                kind: match c
                    .annotations
                    .get("vnd.docker.reference.type")
                    .map(String::as_str)
                {
                    Some("attestation-manifest") => "attestation".into(),
                    _ => "image".into(),
                },
                platform: c
                    .platform
                    .map(|p| platform(p.os, p.architecture, p.variant)),
                digest: c.digest,
                available: true,
            })
            .collect();
        ImageShape {
            media_type,
            digest: Some(id.to_string()),
            manifests,
            source: "image export (GET /images/{name}/get)".into(),
        }
    }
}

fn parse_api(v: &str) -> Option<(u32, u32)> {
    let (major, minor) = v.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// Where `docker` would connect: DOCKER_HOST, else the current context (DOCKER_CONTEXT or the config's
/// `currentContext`), else the default socket. Returns the host and where it came from.
pub fn resolve_endpoint() -> Result<(String, String), String> {
    if let Some(host) = std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()) {
        return Ok((host, "DOCKER_HOST".into()));
    }
    let config_dir = docker_config_dir();
    let context = match std::env::var("DOCKER_CONTEXT")
        .ok()
        .filter(|c| !c.is_empty())
    {
        Some(c) => Some((c, "DOCKER_CONTEXT")),
        None => current_context(&config_dir).map(|c| (c, "currentContext")),
    };
    match context {
        None => Ok((DEFAULT_HOST.into(), "default".into())),
        Some((name, _)) if name == "default" => Ok((DEFAULT_HOST.into(), "context default".into())),
        Some((name, from)) => {
            // The CLI stores a context's metadata under the SHA-256 of its name.
            let digest = format!("{:x}", Sha256::digest(name.as_bytes()));
            let meta = config_dir
                .join("contexts/meta")
                .join(digest)
                .join("meta.json");
            let text = std::fs::read_to_string(&meta).map_err(|e| {
                format!(
                    "docker context '{name}' (from {from}) not found: {}: {e}",
                    meta.display()
                )
            })?;
            let host = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| {
                    v["Endpoints"]["docker"]["Host"]
                        .as_str()
                        .map(str::to_string)
                })
                .ok_or_else(|| {
                    format!(
                        "docker context '{name}' has no docker endpoint in {}",
                        meta.display()
                    )
                })?;
            Ok((host, format!("context {name}")))
        }
    }
}

/// `$DOCKER_CONFIG`, else `~/.docker`.
pub fn docker_config_dir() -> PathBuf {
    std::env::var_os("DOCKER_CONFIG")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".docker")
        })
}

fn current_context(config_dir: &std::path::Path) -> Option<String> {
    let text = std::fs::read_to_string(config_dir.join("config.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["currentContext"]
        .as_str()
        .filter(|c| !c.is_empty())
        .map(str::to_string)
}
