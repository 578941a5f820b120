//! The Docker engine: `/version`, `/info`, and the local images (GET requests only).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bollard::Docker;
use bollard::errors::Error as DockerError;
use bollard::models::{ImageInspect, ImageSummary};
use bollard::query_parameters::ListImagesOptionsBuilder;
use ecr_doctor_checks::facts::{
    ChildManifest, DockerFacts, EngineInfo, EngineVersion, Fact, Facts, ImageShape, LocalImage,
    MEDIA_TYPE_DOCKER_MANIFEST, MEDIA_TYPE_OCI_INDEX, MEDIA_TYPE_OCI_MANIFEST, Pushed,
};
use ecr_doctor_checks::{EcrRef, Need, TargetId};
use futures_util::{StreamExt, TryStreamExt};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;
use tokio::time::Instant;
use tokio_util::io::StreamReader;

use super::{Fill, NotGathered, Plan, Target, bounded, did_not_answer, error_chain};
use crate::input::{DOCKER_FILE, read_file};

const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";
/// The API version from which `GET /images/json?manifests=1` lists an image's manifests (Engine 27.2;
/// moby api/docs/CHANGELOG.md, v1.47).
const MANIFESTS_API: (u32, u32) = (1, 47);
/// A root manifest is small; ECR takes at most 4 MiB.
const ROOT_BLOB_LIMIT: u64 = 4 << 20;

/// Why the engine was not asked, into every fact this probe owns.
pub fn not_gathered(facts: &mut Facts, why: &NotGathered) {
    facts.docker.version = why.fact();
    facts.docker.info = why.fact();
    for t in &mut facts.targets {
        t.local = why.fact();
    }
}

/// The engine (`/version`, `/info`) and, when a check needs it, each target's local image.
pub async fn probe(plan: &Plan) -> Fill {
    let timeout = plan.timeout;
    // Only a `docker push` pushes a local image (cdk-assets its `cdkasset-` image when there is one, which it
    // then does not build); a build pushes what it builds.
    let (targets, built): (Vec<Target>, Vec<Target>) =
        plan.targets.iter().cloned().partition(|t| {
            matches!(
                t.pushed,
                Pushed::LocalImage | Pushed::CdkAsset(_) | Pushed::SamImage(_)
            )
        });
    let targets = &targets;
    let (endpoint, source) = match resolve_endpoint() {
        Ok(e) => e,
        Err(why) => return unreachable("(unresolved)".into(), why),
    };
    let shown = format!("{endpoint} ({source})");
    let docker = match Docker::connect_with_host(&endpoint) {
        // Our own per-call bound fires first with a clearer message; bollard's is the backstop.
        Ok(d) => d.with_timeout(timeout + Duration::from_secs(1)),
        Err(e) => return unreachable(shown, error_chain(&e)),
    };
    let (version, info, listed) = tokio::join!(
        bounded(timeout, "the Docker engine (GET /version)", async {
            engine_call(docker.version().await)
        }),
        bounded(timeout, "the Docker engine (GET /info)", async {
            engine_call(docker.info().await)
        }),
        async {
            if plan.wants(Need::LocalImage) {
                list_images(&docker, targets, timeout).await
            } else {
                Ok(vec![])
            }
        },
    );
    let version = version.map(|v| EngineVersion {
        version: v.version.unwrap_or_default(),
        api_version: v.api_version.unwrap_or_default(),
        os: v.os.unwrap_or_default(),
        arch: v.arch.unwrap_or_default(),
    });
    if let Fact::Unavailable { why } = &version {
        // One unreachable engine explains every row: don't wait on it again per image.
        return unreachable(shown, why.clone());
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
    let images = if plan.wants(Need::LocalImage) {
        let store = Store {
            api: version.value().and_then(|v| parse_api(&v.api_version)),
            containerd: info.value().map(EngineInfo::uses_containerd_store),
        };
        let platforms = plan.wants(Need::ImagePlatform);
        local_images(&docker, targets, listed, store, platforms, timeout).await
    } else {
        let why = NotGathered::Skipped(super::NOT_NEEDED.into());
        targets.iter().map(|t| (t.id, why.fact())).collect()
    };
    let docker = DockerFacts {
        endpoint: shown,
        version,
        info,
    };
    let not_local = NotGathered::Skipped("not gathered: the command pushes no local image".into());
    let images: Vec<_> = images
        .into_iter()
        .chain(built.iter().map(|t| (t.id, not_local.fact())))
        .collect();
    Box::new(move |facts| {
        facts.docker = docker;
        super::per_target(facts, images, |t, local| t.local = local);
    })
}

/// A local image's ID (`GET /images/{name}/json`), `None` when there is no such image: what `sam deploy` tags
/// its push with, asked before the probes run.
pub async fn local_image_id(name: &str, timeout: Duration) -> Result<Option<String>, String> {
    let (endpoint, _) = resolve_endpoint()?;
    let docker = Docker::connect_with_host(&endpoint)
        .map_err(|e| error_chain(&e))?
        .with_timeout(timeout + Duration::from_secs(1));
    match tokio::time::timeout(timeout, docker.inspect_image(name)).await {
        Ok(Ok(i)) => Ok(i.id),
        Ok(Err(DockerError::DockerResponseServerError {
            status_code: 404, ..
        })) => Ok(None),
        Ok(Err(e)) => Err(format!("{endpoint}: {}", error_chain(&e))),
        Err(_) => Err(did_not_answer(
            &format!("the Docker engine at {endpoint} (GET /images/{{name}}/json)"),
            timeout,
        )),
    }
}

/// An engine that cannot be asked explains every fact of this probe.
fn unreachable(endpoint: String, why: String) -> Fill {
    Box::new(move |facts| {
        let local = NotGathered::Unavailable(format!("the Docker engine is unreachable: {why}"));
        for t in &mut facts.targets {
            t.local = local.fact();
        }
        facts.docker = DockerFacts {
            endpoint,
            version: Fact::unavailable(why.clone()),
            info: Fact::unavailable(why),
        };
    })
}

fn engine_call<T>(r: Result<T, DockerError>) -> Fact<T> {
    r.map_or_else(|e| Fact::unavailable(error_chain(&e)), Fact::observed)
}

/// What decides how an image's shape is read: the engine's API version and image store.
#[derive(Clone, Copy)]
struct Store {
    api: Option<(u32, u32)>,
    containerd: Option<bool>,
}

impl Store {
    fn lists_manifests(self) -> bool {
        self.containerd == Some(true) && self.api.is_some_and(|v| v >= MANIFESTS_API)
    }
}

/// One `GET /images/json`, filtered by the repositories of the targets' names that are ECR references (any
/// other name, a `--local-image` ID or short name, would make the containerd store's filter reject the
/// whole call); tags are matched here. dockerd matches each `reference` filter against every image, so 500
/// tags took 145 ms where their 20 repositories take 8 ms. It runs beside `/version` and `/info`: engines
/// before API 1.47 ignore `manifests`, so it needs no version.
async fn list_images(
    docker: &Docker,
    targets: &[Target],
    timeout: Duration,
) -> Result<Vec<ImageSummary>, String> {
    let mut repositories: Vec<String> = targets
        .iter()
        .filter_map(|t| {
            // The local image is the reference itself unless `--local-image` or a tool named another.
            let other;
            let r: &EcrRef = if t.local_image == t.reference.as_str() {
                &t.reference
            } else {
                other = EcrRef::parse(&t.local_image).ok()?;
                &other
            };
            Some(format!("{}/{}", r.registry, r.repository))
        })
        .collect();
    repositories.sort_unstable();
    repositories.dedup();
    if repositories.is_empty() {
        return Ok(vec![]);
    }
    let names = repositories.iter().map(String::as_str).collect();
    match tokio::time::timeout(timeout, listed_by_reference(docker, names)).await {
        Ok(listed) => listed.map_err(|e| error_chain(&e)),
        Err(_) => Err(did_not_answer(
            "the Docker engine (GET /images/json)",
            timeout,
        )),
    }
}

/// Every target's local image: from the listing when it lists the name as a tag or digest (from API 1.47
/// on the containerd store, with the shape too); otherwise inspected on its own, which tells an absent
/// image apart.
async fn local_images(
    docker: &Docker,
    targets: &[Target],
    listed: Result<Vec<ImageSummary>, String>,
    store: Store,
    platforms: bool,
    timeout: Duration,
) -> Vec<(TargetId, Fact<Option<LocalImage>>)> {
    let listed = match listed {
        Ok(listed) => listed,
        Err(why) => {
            return targets
                .iter()
                .map(|t| (t.id, Fact::unavailable(why.clone())))
                .collect();
        }
    };
    // Each listed image's names grouped by repository once: one image tagged 500 ways is not scanned by
    // each of its 500 targets.
    let names: Vec<(Names, Names)> = listed
        .iter()
        .map(|s| (Names::of(&s.repo_tags), Names::of(&s.repo_digests)))
        .collect();
    let by_name: HashMap<&str, usize> = listed
        .iter()
        .enumerate()
        .flat_map(|(i, s)| {
            s.repo_tags
                .iter()
                .chain(&s.repo_digests)
                .map(move |n| (n.as_str(), i))
        })
        .collect();
    let images = targets.iter().map(|t| {
        let name = t.local_image.as_str();
        let summary = by_name.get(name).map(|&i| (&listed[i], &names[i]));
        async move {
            // One budget for the whole image: the inspect and whatever reading its shape takes.
            let deadline = Instant::now() + timeout;
            let budget = Budget { deadline, timeout };
            let local = match summary {
                Some((s, (tags, digests))) => {
                    // The listing names no platform of a single manifest: the inspect does, asked only
                    // when a check reads it (500 inspects cost seconds).
                    let inspect = async {
                        if !platforms {
                            return None;
                        }
                        tokio::time::timeout_at(deadline, docker.inspect_image(name))
                            .await
                            .ok()
                            .and_then(Result::ok)
                    };
                    let (shape, inspect) = tokio::join!(
                        image_shape(docker, name, &s.id, Some(s), store, budget),
                        inspect,
                    );
                    Fact::observed(Some(LocalImage {
                        id: s.id.clone(),
                        repo_tags: tags.of_target(t),
                        repo_digests: digests.of_target(t),
                        shape,
                        platform: inspect.and_then(inspected_platform),
                    }))
                }
                None => local_image(docker, t, store, budget).await,
            };
            (t.id, local)
        }
    });
    futures_util::future::join_all(images).await
}

/// An image's names by repository (`host/path`), each with its place in the engine's list.
struct Names<'a>(HashMap<&'a str, Vec<(usize, &'a String)>>);

impl<'a> Names<'a> {
    fn of(names: &'a [String]) -> Names<'a> {
        let mut by_repository: HashMap<&str, Vec<(usize, &String)>> = HashMap::new();
        for (i, n) in names.iter().enumerate() {
            by_repository
                .entry(repository_of(n))
                .or_default()
                .push((i, n));
        }
        Names(by_repository)
    }

    /// The names that concern `target`, in the engine's order: those in its ECR repository or in its local
    /// name's. One image tagged into 500 repositories would otherwise carry 500 names into each of 500
    /// targets' facts.
    fn of_target(&self, target: &Target) -> Vec<String> {
        let ecr = format!(
            "{}/{}",
            target.reference.registry, target.reference.repository
        );
        let local = repository_of(&target.local_image);
        let mut mine: Vec<(usize, &String)> = self.0.get(ecr.as_str()).cloned().unwrap_or_default();
        if local != ecr {
            mine.extend(self.0.get(local).into_iter().flatten());
            mine.sort_unstable_by_key(|(i, _)| *i);
        }
        mine.into_iter().map(|(_, n)| n.clone()).collect()
    }
}

/// `host/path` of `host/path:tag` or `host/path@digest`.
fn repository_of(name: &str) -> &str {
    let name = name.split_once('@').map_or(name, |(repo, _)| repo);
    match name.rfind(':') {
        Some(colon) if !name[colon..].contains('/') => &name[..colon],
        _ => name,
    }
}

/// One image by name (`GET /images/{name}/json`); a 404 means there is none.
async fn local_image(
    docker: &Docker,
    target: &Target,
    store: Store,
    budget: Budget,
) -> Fact<Option<LocalImage>> {
    let name = target.local_image.as_str();
    let inspect = match tokio::time::timeout_at(budget.deadline, docker.inspect_image(name)).await {
        Ok(Ok(i)) => i,
        Ok(Err(DockerError::DockerResponseServerError {
            status_code: 404, ..
        })) => return Fact::observed(None),
        Ok(Err(e)) => return Fact::unavailable(error_chain(&e)),
        Err(_) => {
            return Fact::unavailable(did_not_answer(
                "the Docker engine (GET /images/{name}/json)",
                budget.timeout,
            ));
        }
    };
    let id = inspect.id.clone().unwrap_or_default();
    Fact::observed(Some(LocalImage {
        shape: image_shape(docker, name, &id, None, store, budget).await,
        id,
        repo_tags: Names::of(inspect.repo_tags.as_deref().unwrap_or_default()).of_target(target),
        repo_digests: Names::of(inspect.repo_digests.as_deref().unwrap_or_default())
            .of_target(target),
        platform: inspected_platform(inspect),
    }))
}

/// `os/arch[/variant]` of an inspected image's config.
fn inspected_platform(inspect: ImageInspect) -> Option<String> {
    let arch = inspect.architecture.filter(|a| !a.is_empty());
    arch.is_some()
        .then(|| platform(&inspect.os, &arch, &inspect.variant))
}

/// One image's time: `timeout` (the `--timeout` it is named by) from when its reads began.
#[derive(Clone, Copy)]
struct Budget {
    deadline: Instant,
    timeout: Duration,
}

/// The manifest `docker push` would send for the image: static on a classic store; from its listing from
/// API 1.47 on the containerd store (`listed`, when the image came from one); else from its export.
async fn image_shape(
    docker: &Docker,
    name: &str,
    id: &str,
    listed: Option<&ImageSummary>,
    store: Store,
    Budget { deadline, timeout }: Budget,
) -> Fact<ImageShape> {
    match (store.containerd, listed) {
        (None, _) => Fact::unavailable("the engine's image store is unknown (GET /info failed)"),
        // A graphdriver store holds one manifest per image; `docker push` sends exactly that.
        (Some(false), _) => Fact::observed(ImageShape {
            media_type: MEDIA_TYPE_DOCKER_MANIFEST.into(),
            digest: None,
            manifests: vec![],
            source: "classic image store (one manifest per image)".into(),
        }),
        (Some(true), Some(summary)) if store.lists_manifests() => {
            Fact::observed(shape_from_summary(summary))
        }
        (Some(true), None) if store.lists_manifests() => {
            tokio::time::timeout_at(deadline, listed_shape(docker, name))
                .await
                .unwrap_or_else(|_| {
                    Fact::unavailable(did_not_answer(
                        "the Docker engine (GET /images/json?manifests=1)",
                        timeout,
                    ))
                })
        }
        (Some(true), _) => exported_shape(docker, name, id, deadline, timeout).await,
    }
}

/// `GET /images/json?manifests=1&filters={"reference":[names…]}` (`manifests` from API 1.47).
async fn listed_by_reference(
    docker: &Docker,
    names: Vec<&str>,
) -> Result<Vec<ImageSummary>, DockerError> {
    let filters = HashMap::from([("reference", names)]);
    let opts = ListImagesOptionsBuilder::new()
        .manifests(true)
        .filters(&filters)
        .build();
    docker.list_images(Some(opts)).await
}

/// API ≥ 1.47: the shape of one image, from its own listing.
async fn listed_shape(docker: &Docker, name: &str) -> Fact<ImageShape> {
    match listed_by_reference(docker, vec![name]).await {
        Ok(list) => match list.into_iter().next() {
            Some(summary) => Fact::observed(shape_from_summary(&summary)),
            None => Fact::unavailable(format!("the engine listed no image for '{name}'")),
        },
        Err(e) => Fact::unavailable(error_chain(&e)),
    }
}

/// An image's shape from its listing. API 1.48 adds the root's `Descriptor`; API 1.47 lists only the
/// `Manifests`, so the root is read off them: on the containerd store the image ID is the root digest, and
/// the root is an index unless it is its own one manifest.
fn shape_from_summary(summary: &ImageSummary) -> ImageShape {
    let manifests: Vec<ChildManifest> = summary
        .manifests
        .iter()
        .flatten()
        .map(|m| ChildManifest {
            digest: m.descriptor.digest.clone().unwrap_or_default(),
            kind: m
                .kind
                .map(|k| k.to_string())
                .unwrap_or_else(|| "unknown".into()),
            platform: m
                .image_data
                .as_ref()
                .map(|d| &d.platform)
                .map(|p| platform(&p.os, &p.architecture, &p.variant))
                .or_else(|| {
                    m.descriptor
                        .platform
                        .as_ref()
                        .map(|p| platform(&p.os, &p.architecture, &p.variant))
                }),
            available: m.available,
        })
        .collect();
    match &summary.descriptor {
        Some(root) => ImageShape {
            media_type: root.media_type.clone().unwrap_or_default(),
            digest: root.digest.clone(),
            manifests,
            source: "GET /images/json?manifests=1".into(),
        },
        None if matches!(manifests.as_slice(), [only] if only.digest == summary.id) => ImageShape {
            media_type: MEDIA_TYPE_OCI_MANIFEST.into(),
            digest: Some(summary.id.clone()),
            manifests: vec![],
            source: "GET /images/json?manifests=1 (API 1.47: one manifest, the image itself)"
                .into(),
        },
        None => ImageShape {
            media_type: MEDIA_TYPE_OCI_INDEX.into(),
            digest: Some(summary.id.clone()),
            manifests,
            source: "GET /images/json?manifests=1 (API 1.47: an index, read from its Manifests)"
                .into(),
        },
    }
}

fn platform(os: &Option<String>, arch: &Option<String>, variant: &Option<String>) -> String {
    let or_empty = |s: &Option<String>| s.as_deref().unwrap_or_default().to_string();
    let mut p = format!("{}/{}", or_empty(os), or_empty(arch));
    if let Some(v) = variant.as_deref().filter(|v| !v.is_empty()) {
        p = format!("{p}/{v}");
    }
    p
}

/// Engines before API 1.47 cannot list an image's manifests. On the containerd store the image ID is the
/// root digest, and the image export (`GET /images/{name}/get`, read-only) carries the root blob. The export
/// lists its blobs sorted by name, so the root can come after every layer: the stream is read as far as it
/// takes, bounded only by the deadline, and dropped as soon as the root is found.
async fn exported_shape(
    docker: &Docker,
    name: &str,
    id: &str,
    deadline: Instant,
    timeout: Duration,
) -> Fact<ImageShape> {
    let Some(hex) = id.strip_prefix("sha256:") else {
        return Fact::unavailable(format!("image ID '{id}' is not a sha256 digest"));
    };
    let started = Instant::now();
    let read = AtomicU64::new(0);
    let stream = docker
        .export_image(name)
        .inspect_ok(|chunk| {
            read.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        })
        .map_err(std::io::Error::other);
    let want = format!("blobs/sha256/{hex}");
    let find = async {
        let mut archive = tokio_tar::Archive::new(StreamReader::new(stream));
        let mut entries = archive.entries()?;
        while let Some(entry) = entries.next().await {
            let entry = entry?;
            if entry.path()?.to_string_lossy() == want {
                let mut blob = Vec::new();
                entry.take(ROOT_BLOB_LIMIT).read_to_end(&mut blob).await?;
                return Ok(Some(blob));
            }
        }
        Ok::<_, std::io::Error>(None)
    };
    let outcome = tokio::time::timeout_at(deadline, find).await;
    let read = mib(read.load(Ordering::Relaxed));
    let blob = match outcome {
        Ok(Ok(Some(blob))) => blob,
        Ok(Ok(None)) => {
            return Fact::unavailable(format!(
                "the image export ended after {read} without the image's root blob {}",
                &want
            ));
        }
        Ok(Err(e)) => {
            return Fact::unavailable(format!(
                "cannot read the image's root manifest from its export (after {read}): {e}"
            ));
        }
        Err(_) => {
            return Fact::unavailable(format!(
                "the timeout ({}s) cut the image export after {read}, before its root manifest: the export \
                 lists blobs by name, so the root can come after every layer",
                timeout.as_secs_f64()
            ));
        }
    };
    let how = format!(
        "image export (GET /images/{{name}}/get): root manifest found after reading {read} in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    match serde_json::from_slice::<OciRoot>(&blob) {
        Ok(root) => Fact::observed(root.into_shape(id, how)),
        Err(e) => Fact::unavailable(format!("the image's root manifest is not JSON: {e}")),
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
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
    fn into_shape(self, id: &str, source: String) -> ImageShape {
        let is_index = self.manifests.is_some();
        let media_type = self.media_type.unwrap_or_else(|| {
            if is_index {
                MEDIA_TYPE_OCI_INDEX
            } else {
                MEDIA_TYPE_OCI_MANIFEST
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
                    .map(|p| platform(&p.os, &p.architecture, &p.variant)),
                digest: c.digest,
                available: true,
            })
            .collect();
        ImageShape {
            media_type,
            digest: Some(id.to_string()),
            manifests,
            source,
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
    if let Some(host) = docker_host() {
        return Ok((host, "DOCKER_HOST".into()));
    }
    let config_dir = docker_config_dir();
    match named_context(&config_dir) {
        None => Ok((DEFAULT_HOST.into(), "default".into())),
        Some((name, _)) if name == "default" => Ok((DEFAULT_HOST.into(), "context default".into())),
        Some((name, from)) => {
            let meta = context_meta(&config_dir, &name);
            let text = read_file(&meta, DOCKER_FILE).map_err(|e| {
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

/// The docker CLI's current context, as it resolves it (docker/cli `resolveContextName`): `default` when
/// DOCKER_HOST is set, else DOCKER_CONTEXT, else the config's `currentContext`, else `default`.
pub fn current_context(config_dir: &std::path::Path) -> String {
    if docker_host().is_some() {
        return "default".into();
    }
    named_context(config_dir).map_or_else(|| "default".into(), |(name, _)| name)
}

/// Where the CLI keeps a context's metadata: under the SHA-256 of its name.
pub fn context_meta(config_dir: &std::path::Path, name: &str) -> PathBuf {
    let digest = format!("{:x}", Sha256::digest(name.as_bytes()));
    config_dir
        .join("contexts/meta")
        .join(digest)
        .join("meta.json")
}

fn docker_host() -> Option<String> {
    std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty())
}

/// The context DOCKER_CONTEXT or the config's `currentContext` names, and which one named it.
fn named_context(config_dir: &std::path::Path) -> Option<(String, &'static str)> {
    if let Some(c) = std::env::var("DOCKER_CONTEXT")
        .ok()
        .filter(|c| !c.is_empty())
    {
        return Some((c, "DOCKER_CONTEXT"));
    }
    let text = read_file(&config_dir.join("config.json"), DOCKER_FILE).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["currentContext"]
        .as_str()
        .filter(|c| !c.is_empty())
        .map(|c| (c.to_string(), "currentContext"))
}

/// `$DOCKER_CONFIG`, else `~/.docker`.
pub fn docker_config_dir() -> PathBuf {
    std::env::var_os("DOCKER_CONFIG")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".docker")
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ecr_doctor_checks::TargetRef;

    #[test]
    fn an_image_keeps_only_the_names_of_its_targets_repositories() {
        let host = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
        let target = Target {
            id: TargetId::nth(0),
            reference: TargetRef::parse(&format!("{host}/team/app:v2")).unwrap(),
            local_image: "localhost:5000/app:dev".into(),
            pushed: Default::default(),
        };
        let names: Vec<String> = [
            format!("{host}/team/app:v1"),
            format!("{host}/team/app@sha256:aaaa"),
            format!("{host}/team/app-other:v1"),
            format!("{host}/team:v1"),
            "localhost:5000/app:dev".into(),
            "localhost:5000/app".into(),
            "app:dev".into(),
        ]
        .into();
        assert_eq!(
            Names::of(&names).of_target(&target),
            [0, 1, 4, 5].map(|i| names[i].clone())
        );
    }

    /// `GET /images/json?manifests=1` as API 1.47 (Engine 27.2–27.5, Docker Desktop 4.34–4.38) answers it:
    /// `Manifests` but no `Descriptor` (that came with 1.48). No 27.x engine runs here, so this response is
    /// written from the v1.47 schema (moby `api/swagger.yaml` at v27.2.0, `ImageSummary` and
    /// `ImageManifestSummary`) for a default containerd-store build: an image plus its attestation.
    const API_1_47_INDEX: &str = r#"{
        "Id": "sha256:1111111111111111111111111111111111111111111111111111111111111111",
        "ParentId": "", "RepoTags": ["app:v1"], "RepoDigests": [], "Created": 1730000000,
        "Size": 1234, "SharedSize": -1, "Labels": {}, "Containers": -1,
        "Manifests": [
            {"ID": "sha256:aaaa", "Available": true, "Kind": "image",
             "Descriptor": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:aaaa", "size": 480,
                            "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}},
             "Size": {"Total": 1234, "Content": 1000},
             "ImageData": {"Platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}, "Containers": [], "Size": {"Unpacked": 4096}}},
            {"ID": "sha256:bbbb", "Available": true, "Kind": "attestation",
             "Descriptor": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:bbbb", "size": 566,
                            "annotations": {"vnd.docker.reference.digest": "sha256:aaaa", "vnd.docker.reference.type": "attestation-manifest"},
                            "platform": {"architecture": "unknown", "os": "unknown"}},
             "Size": {"Total": 1000, "Content": 1000},
             "AttestationData": {"For": "sha256:aaaa"}}
        ]
    }"#;

    #[test]
    fn api_1_47_listing_without_a_descriptor_still_tells_an_index() {
        let summary: ImageSummary = serde_json::from_str(API_1_47_INDEX).unwrap();
        let shape = shape_from_summary(&summary);
        assert!(shape.is_index(), "{shape:?}");
        assert_eq!(
            shape.digest.as_deref(),
            Some("sha256:1111111111111111111111111111111111111111111111111111111111111111")
        );
        assert_eq!(shape.attestations(), 1);
        assert_eq!(shape.platforms(), ["linux/arm64/v8"]);
        assert!(shape.source.contains("API 1.47"), "{}", shape.source);
    }

    #[test]
    fn api_1_47_single_manifest_is_not_an_index() {
        let mut v: serde_json::Value = serde_json::from_str(API_1_47_INDEX).unwrap();
        v["Id"] = "sha256:aaaa".into();
        v["Manifests"].as_array_mut().unwrap().truncate(1);
        let shape = shape_from_summary(&serde_json::from_value(v).unwrap());
        assert!(!shape.is_index(), "{shape:?}");
        assert_eq!(shape.digest.as_deref(), Some("sha256:aaaa"));
    }
}
