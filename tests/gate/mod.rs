//! An ECR-faithful immutability gate for push tests: a reverse proxy on 127.0.0.1 in front of the
//! distribution registry, which has no tag immutability of its own.
//!
//! Every request goes to the registry unchanged (method, path, query, headers including `Host`, body
//! streamed; the response comes back unchanged, so upload `Location`s point back at the gate), except:
//!
//! - **A manifest PUT by tag** (`PUT /v2/<repo>/manifests/<tag>`) is refused the way ECR refuses it when
//!   the repository's tag mutability makes that tag immutable and the tag already exists — even at the
//!   same digest (aws/containers-roadmap#2179: "even when the digest has not changed, it fails";
//!   aws/aws-cli#8671): `400` with `TAG_INVALID`. A pusher that looks first (HEAD) and finds the tag at
//!   its digest sends no PUT, so it is not refused. The rule is evaluated here, independently of ecr-doctor's own code: the gate
//!   is the referee. Its inputs come from moto's ECR API (`DescribeRepositories`, `DescribeImages`), and
//!   every such PUT the registry accepts is mirrored into moto (`PutImage` with the exact bytes), so moto is
//!   the one source of truth for "which digest does this tag hold" — for the gate and for ecr-doctor alike.
//! - **A request for a repository moto does not know** gets ECR's `404 NAME_UNKNOWN`.
//! - **A manifest GET or HEAD** also accepts index and manifest-list types when passed on. The
//!   distribution registry answers a client that does not list them, asking by tag for an index, with the
//!   index's linux/amd64 child instead; ECR answers with the index whatever the Accept header says
//!   (awakesecurity/hocker#64). Old pushers HEAD each child by the tag and skip it when the answer names
//!   its digest, so without this a re-push to an existing tag looked accepted here that ECR refuses.
//! - **A TLS ClientHello** on the plain port gets the answer Go's `net/http` gives, so Go clients
//!   (containerd's pusher) see "server gave HTTP response to HTTPS client" and fall back to plain HTTP.
//!
//! Every manifest PUT (by tag or by digest) is recorded for assertions (`Gate::puts_since`, in log.rs) and
//! shown when a test fails. The fixture side (fixture.rs) sets up and reads ECR state in moto.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_ecr::types::{ImageIdentifier, ImageTagMutabilityExclusionFilterType};
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::body::{Bytes, Incoming};
use hyper::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, TRANSFER_ENCODING};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::client::legacy::{Client, connect::HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioIo};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// moto's (and the tests') account.
pub const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Body = BoxBody<Bytes, BoxError>;

/// What became of one manifest PUT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutOutcome {
    /// Forwarded, and the registry answered 2xx.
    Accepted,
    /// Refused by the gate: the tag is immutable and already holds `existing` (possibly this very digest).
    Refused { existing: String },
    /// Forwarded, and the registry answered with an error (e.g. a missing blob).
    RegistryRejected,
}

/// One manifest PUT seen by the gate.
#[derive(Debug, Clone)]
pub struct ManifestPut {
    /// Order of arrival over the gate's lifetime (see [`Gate::mark`]).
    pub seq: u64,
    pub repo: String,
    /// The tag or digest in the URL.
    pub reference: String,
    /// `sha256:` + hex(sha256(body)): the digest ECR gives these exact bytes.
    pub digest: String,
    pub media_type: String,
    /// The status the client got.
    pub status: u16,
    pub outcome: PutOutcome,
    /// For an accepted PUT by tag: whether mirroring it into moto worked.
    pub mirror: Option<Result<(), String>>,
}

impl ManifestPut {
    pub fn by_tag(&self) -> bool {
        is_tag(&self.reference)
    }
}

/// The running gate. Stops (and drops its connections) when dropped.
pub struct Gate {
    pub(crate) rt: Option<tokio::runtime::Runtime>,
    pub(crate) port: u16,
    pub(crate) state: Arc<State>,
}

pub(crate) struct State {
    registry: String,
    http: Client<HttpConnector, Body>,
    pub(crate) ecr: aws_sdk_ecr::Client,
    /// Repositories seen to exist in moto (only positives are cached: a repository may be created later).
    known: Mutex<HashSet<String>>,
    /// One lock per repository around "decide, forward, mirror" of a manifest PUT by tag, so concurrent
    /// PUTs to one tag cannot both pass the check.
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    pub(crate) puts: Mutex<Vec<ManifestPut>>,
    pub(crate) log: AtomicBool,
}

impl Gate {
    /// Starts the gate on a free port of 127.0.0.1 in front of `registry` (`HOST:PORT`), reading and
    /// writing ECR state in moto at `moto_url`.
    pub fn start(registry: &str, moto_url: &str) -> Gate {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("gate")
            .enable_all()
            .build()
            .expect("gate runtime");
        let ecr = rt.block_on(ecr_client(moto_url));
        let listener = rt
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("gate binds 127.0.0.1");
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(State {
            registry: registry.to_string(),
            http: Client::builder(TokioExecutor::new()).build(HttpConnector::new()),
            ecr,
            known: Mutex::default(),
            locks: Mutex::default(),
            puts: Mutex::default(),
            log: AtomicBool::new(false),
        });
        rt.spawn(accept_loop(listener, state.clone()));
        Gate {
            rt: Some(rt),
            port,
            state,
        }
    }

    /// `127.0.0.1:PORT`: the registry host to tag images with for a push through the gate.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        // A failing test shows what the gate saw.
        if std::thread::panicking()
            && let Ok(puts) = self.state.puts.lock()
        {
            for p in puts.iter() {
                eprintln!("{}", describe(p));
            }
        }
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

async fn ecr_client(moto_url: &str) -> aws_sdk_ecr::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .endpoint_url(moto_url)
        .credentials_provider(aws_sdk_ecr::config::Credentials::new(
            "test", "test", None, None, "gate",
        ))
        .load()
        .await;
    aws_sdk_ecr::Client::new(&config)
}

// --- connections -------------------------------------------------------------------------------------

async fn accept_loop(listener: TcpListener, state: Arc<State>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(serve_connection(stream, state.clone()));
            }
            // Out of file descriptors and the like: back off instead of spinning.
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

async fn serve_connection(stream: TcpStream, state: Arc<State>) {
    let mut first = [0u8; 1];
    match stream.peek(&mut first).await {
        // 0x16 is a TLS handshake record: a client trying HTTPS first.
        Ok(1) if first[0] == 0x16 => return refuse_tls(stream).await,
        Ok(1) => {}
        _ => return,
    }
    let service = hyper::service::service_fn(move |req| {
        let state = state.clone();
        async move { Ok::<_, Infallible>(handle(&state, req).await) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// What Go's net/http answers to a TLS handshake on a plain-HTTP port. A Go TLS client reads `HTTP/` where
/// it expects a record header and reports "server gave HTTP response to HTTPS client"; containerd's
/// resolver falls back to plain HTTP only on that error (a reset or a timeout fails the push).
async fn refuse_tls(mut stream: TcpStream) {
    // Read the ClientHello first: closing a socket with unread input sends a reset, which could reach
    // the client before the answer does.
    let mut hello = [0u8; 16 * 1024];
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.read(&mut hello)).await;
    let _ = stream
        .write_all(
            b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n",
        )
        .await;
    let _ = stream.shutdown().await;
}

// --- requests ----------------------------------------------------------------------------------------

/// The repository and kind of a registry API path (`/v2/<name>/…`).
#[derive(Debug, PartialEq, Eq)]
enum Target<'a> {
    Manifest {
        repo: &'a str,
        reference: &'a str,
    },
    Repo(&'a str),
    /// `/v2/`, `/v2/_catalog`, anything else.
    Other,
}

impl<'a> Target<'a> {
    fn parse(path: &'a str) -> Target<'a> {
        let Some(rest) = path.strip_prefix("/v2/") else {
            return Target::Other;
        };
        // A name can hold slashes: it ends where the first route word starts.
        for marker in ["/manifests/", "/blobs/", "/tags/", "/referrers/"] {
            if let Some((repo, tail)) = rest.split_once(marker)
                && !repo.is_empty()
            {
                return match marker {
                    "/manifests/" if !tail.is_empty() && !tail.contains('/') => Target::Manifest {
                        repo,
                        reference: tail,
                    },
                    _ => Target::Repo(repo),
                };
            }
        }
        Target::Other
    }

    fn repo(&self) -> Option<&'a str> {
        match *self {
            Target::Manifest { repo, .. } | Target::Repo(repo) => Some(repo),
            Target::Other => None,
        }
    }
}

/// A reference that is a tag, not a digest (`sha256:…`).
fn is_tag(reference: &str) -> bool {
    !reference.contains(':')
}

async fn handle(state: &State, mut req: Request<Incoming>) -> Response<Body> {
    let path = req.uri().path().to_string();
    let target = Target::parse(&path);
    if let Some(repo) = target.repo() {
        match state.repository_exists(repo).await {
            Ok(true) => {}
            Ok(false) => return name_unknown(repo),
            Err(e) => return bad_gateway(format!("moto DescribeRepositories {repo}: {e}")),
        }
    }
    if let Target::Manifest { repo, reference } = target {
        if req.method() == Method::PUT {
            return put_manifest(state, req, repo, reference).await;
        }
        accept_indexes(&mut req);
    }
    state
        .forward(req.map(|b| b.map_err(BoxError::from).boxed()))
        .await
        .unwrap_or_else(bad_gateway)
}

/// Adds the index and manifest-list types to a manifest request's Accept header, so the registry answers
/// with what the tag holds, as ECR does (see the module's docs).
fn accept_indexes<B>(req: &mut Request<B>) {
    const INDEXES: [&str; 2] = [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ];
    let headers = req.headers_mut();
    let given: Vec<String> = headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    for index in INDEXES {
        if !given.iter().any(|v| v.contains(index)) {
            headers.append(ACCEPT, HeaderValue::from_static(index));
        }
    }
}

/// A manifest PUT: by tag, ECR's immutability rule first; by digest, straight through. Recorded either way.
async fn put_manifest(
    state: &State,
    req: Request<Incoming>,
    repo: &str,
    reference: &str,
) -> Response<Body> {
    let (mut parts, body) = req.into_parts();
    let bytes = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return bad_gateway(format!("reading the manifest: {e}")),
    };
    let digest = format!("sha256:{}", hex(&Sha256::digest(&bytes)));
    let media_type = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let mut put = ManifestPut {
        seq: 0,
        repo: repo.to_string(),
        reference: reference.to_string(),
        digest: digest.clone(),
        media_type: media_type.clone(),
        status: 0,
        outcome: PutOutcome::Accepted,
        mirror: None,
    };
    let by_tag = is_tag(reference);
    let lock = by_tag.then(|| state.lock(repo));
    let _guard = match &lock {
        Some(l) => Some(l.lock().await),
        None => None,
    };

    if by_tag {
        match state.immutable_and_taken(repo, reference).await {
            Ok(None) => {}
            Ok(Some(existing)) => {
                put.status = 400;
                put.outcome = PutOutcome::Refused { existing };
                state.record(put);
                return tag_invalid(reference, repo);
            }
            Err(e) => return bad_gateway(format!("moto, deciding {repo}:{reference}: {e}")),
        }
    }

    // The body was buffered to hash it: send the same bytes with their length.
    parts.headers.remove(TRANSFER_ENCODING);
    parts
        .headers
        .insert(CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    let body = Full::new(bytes.clone()).map_err(|e| match e {}).boxed();
    let resp = match state.forward(Request::from_parts(parts, body)).await {
        Ok(r) => r,
        Err(e) => return bad_gateway(e),
    };
    put.status = resp.status().as_u16();
    if resp.status().is_success() {
        if by_tag {
            put.mirror = Some(
                state
                    .mirror(repo, reference, &bytes, &media_type, &digest)
                    .await,
            );
        }
    } else {
        put.outcome = PutOutcome::RegistryRejected;
    }
    state.record(put);
    resp
}

impl State {
    async fn forward(&self, mut req: Request<Body>) -> Result<Response<Body>, String> {
        let path_and_query = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        // The client keeps the request's own Host header (it only adds one when there is none), so the
        // registry builds upload locations that point back at the gate.
        *req.uri_mut() = format!("http://{}{}", self.registry, path_and_query)
            .parse()
            .map_err(|e| format!("bad URI: {e}"))?;
        let resp = self
            .http
            .request(req)
            .await
            .map_err(|e| format!("registry {}: {e}", self.registry))?;
        Ok(resp.map(|b| b.map_err(BoxError::from).boxed()))
    }

    fn lock(&self, repo: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.locks
            .lock()
            .unwrap()
            .entry(repo.to_string())
            .or_default()
            .clone()
    }

    fn record(&self, mut put: ManifestPut) {
        let mut puts = self.puts.lock().unwrap();
        put.seq = puts.len() as u64;
        if self.log.load(Ordering::Relaxed) {
            eprintln!("{}", describe(&put));
        }
        puts.push(put);
    }

    async fn repository_exists(&self, repo: &str) -> Result<bool, String> {
        if self.known.lock().unwrap().contains(repo) {
            return Ok(true);
        }
        let exists = self.repository(repo).await?.is_some();
        if exists {
            self.known.lock().unwrap().insert(repo.to_string());
        }
        Ok(exists)
    }

    /// The repository's mode and WILDCARD filters, read fresh (a test may change them between pushes).
    async fn repository(&self, repo: &str) -> Result<Option<TagMutability>, String> {
        let out = self
            .ecr
            .describe_repositories()
            .repository_names(repo)
            .send()
            .await;
        let out = match out {
            Ok(o) => o,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_repository_not_found_exception()) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(format!("{e:?}")),
        };
        let Some(r) = out.repositories().first() else {
            return Ok(None);
        };
        Ok(Some(TagMutability {
            mode: r
                .image_tag_mutability()
                .map(|m| m.as_str().to_string())
                .unwrap_or_else(|| "MUTABLE".into()),
            wildcard_filters: r
                .image_tag_mutability_exclusion_filters()
                .iter()
                .filter(|f| f.filter_type() == &ImageTagMutabilityExclusionFilterType::Wildcard)
                .map(|f| f.filter().to_string())
                .collect(),
        }))
    }

    /// `Some(existing digest)` when ECR refuses a manifest PUT to `tag`: the tag is immutable and exists.
    async fn immutable_and_taken(&self, repo: &str, tag: &str) -> Result<Option<String>, String> {
        let Some(rules) = self.repository(repo).await? else {
            return Err(format!("repository {repo} vanished"));
        };
        if !rules.tag_is_immutable(tag) {
            return Ok(None);
        }
        self.tag_digest(repo, tag).await
    }

    pub(crate) async fn tag_digest(&self, repo: &str, tag: &str) -> Result<Option<String>, String> {
        let out = self
            .ecr
            .describe_images()
            .repository_name(repo)
            .image_ids(ImageIdentifier::builder().image_tag(tag).build())
            .send()
            .await;
        match out {
            Ok(o) => Ok(o
                .image_details()
                .first()
                .and_then(|d| d.image_digest())
                .map(str::to_string)),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_image_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(format!("{e:?}")),
        }
    }

    /// Makes moto hold what the registry just accepted. moto keys images by manifest bytes and does not
    /// hash them itself, so the digest is passed as ECR computes it.
    async fn mirror(
        &self,
        repo: &str,
        tag: &str,
        bytes: &[u8],
        media_type: &str,
        digest: &str,
    ) -> Result<(), String> {
        let manifest = String::from_utf8_lossy(bytes).into_owned();
        let mut req = self
            .ecr
            .put_image()
            .repository_name(repo)
            .image_tag(tag)
            .image_manifest(manifest)
            .image_digest(digest);
        if !media_type.is_empty() {
            req = req.image_manifest_media_type(media_type);
        }
        match req.send().await {
            Ok(_) => Ok(()),
            // moto refuses to put the same bytes to a tag that already holds them; that is the state we want.
            Err(e) => match self.tag_digest(repo, tag).await {
                Ok(Some(d)) if d == digest => Ok(()),
                _ => Err(format!("PutImage {repo}:{tag}: {e:?}")),
            },
        }
    }
}

// --- ECR's tag immutability rule, evaluated independently ----------------------------------------------

/// A repository's tag mutability as ECR's API describes it.
#[derive(Debug, Clone)]
pub struct TagMutability {
    /// `MUTABLE`, `IMMUTABLE`, `IMMUTABLE_WITH_EXCLUSION` or `MUTABLE_WITH_EXCLUSION`.
    pub mode: String,
    /// The WILDCARD exclusion filters (ECR has no other filter type).
    pub wildcard_filters: Vec<String>,
}

impl TagMutability {
    /// Whether a push may not move `tag` once it exists. An exclusion filter flips the mode for the tags
    /// it matches; a mode this code does not know is read as immutable (a push would rather be refused
    /// by the referee than wrongly let through).
    pub fn tag_is_immutable(&self, tag: &str) -> bool {
        let excluded = self.wildcard_filters.iter().any(|f| wildcard_match(f, tag));
        match self.mode.as_str() {
            "MUTABLE" => false,
            "IMMUTABLE" => true,
            "IMMUTABLE_WITH_EXCLUSION" => !excluded,
            "MUTABLE_WITH_EXCLUSION" => excluded,
            _ => true,
        }
    }
}

/// ECR's WILDCARD filter: the whole tag must match; `*` matches any run of characters (including none);
/// every other character is literal and case-sensitive.
///
/// Split on `*`: the first piece must start the tag, the last must end it, and the pieces between must
/// appear in order in what is left (taking the earliest occurrence of each is always safe).
pub fn wildcard_match(pattern: &str, tag: &str) -> bool {
    let pieces: Vec<&str> = pattern.split('*').collect();
    if pieces.len() == 1 {
        return pattern == tag;
    }
    let (first, last) = (pieces[0], pieces[pieces.len() - 1]);
    if tag.len() < first.len() + last.len() || !tag.starts_with(first) || !tag.ends_with(last) {
        return false;
    }
    let mut middle = &tag[first.len()..tag.len() - last.len()];
    for piece in &pieces[1..pieces.len() - 1] {
        match middle.find(piece) {
            Some(i) => middle = &middle[i + piece.len()..],
            None => return false,
        }
    }
    true
}

// --- answers -----------------------------------------------------------------------------------------

fn registry_error(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    let body = serde_json::json!({ "errors": [{ "code": code, "message": message }] }).to_string();
    Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "application/json")
        .header(CONTENT_LENGTH, body.len())
        .body(Full::new(Bytes::from(body)).map_err(|e| match e {}).boxed())
        .unwrap()
}

/// ECR's answer to overwriting an immutable tag.
fn tag_invalid(tag: &str, repo: &str) -> Response<Body> {
    registry_error(
        StatusCode::BAD_REQUEST,
        "TAG_INVALID",
        &format!(
            "The image tag '{tag}' already exists in the '{repo}' repository and cannot be overwritten because the repository is immutable."
        ),
    )
}

/// ECR's answer to any request for a repository that does not exist.
fn name_unknown(repo: &str) -> Response<Body> {
    registry_error(
        StatusCode::NOT_FOUND,
        "NAME_UNKNOWN",
        &format!(
            "The repository with name '{repo}' does not exist in the registry with id '{ACCOUNT}'"
        ),
    )
}

/// The gate itself could not do its job (moto or the registry unreachable): loud, never a verdict.
fn bad_gateway(why: String) -> Response<Body> {
    eprintln!("gate: 502: {why}");
    let body = format!("ecr-doctor test gate: {why}\n");
    Response::builder()
        .status(StatusCode::BAD_GATEWAY)
        .header(CONTENT_TYPE, "text/plain")
        .body(Full::new(Bytes::from(body)).map_err(|e| match e {}).boxed())
        .unwrap()
}

/// One log line: `gate: PUT repo/manifests/v1 sha256:1234abcd… (oci.image.manifest) → 201 accepted`.
pub fn describe(p: &ManifestPut) -> String {
    let kind = p
        .media_type
        .trim_start_matches("application/vnd.")
        .trim_end_matches("+json");
    let what = match &p.outcome {
        PutOutcome::Accepted => match &p.mirror {
            Some(Err(e)) => format!("accepted, NOT mirrored into moto: {e}"),
            Some(Ok(())) => "accepted (tag recorded in ECR)".to_string(),
            None => "accepted".to_string(),
        },
        PutOutcome::Refused { existing } => format!(
            "refused TAG_INVALID: the immutable tag holds {}",
            short(existing)
        ),
        PutOutcome::RegistryRejected => "rejected by the registry".to_string(),
    };
    format!(
        "gate: PUT /v2/{}/manifests/{} {} ({kind}) -> {} {what}",
        p.repo,
        if p.by_tag() {
            p.reference.clone()
        } else {
            short(&p.reference)
        },
        short(&p.digest),
        p.status
    )
}

fn short(digest: &str) -> String {
    format!("{}…", &digest[..digest.len().min(19)])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_filters_are_anchored_globs() {
        let cases = [
            ("dev-*", "dev-1", true),
            ("dev-*", "dev-", true),
            ("dev-*", "prod", false),
            ("dev-*", "xdev-1", false),
            ("v*", "dev", false), // moto's prefix regex says yes; ECR says no
            ("latest", "latest", true),
            ("latest", "latestX", false), // ditto
            ("*", "", true),
            ("*", "anything", true),
            ("*-rc*", "1.0-rc2", true),
            ("*-rc*", "1.0", false),
            ("a*b*c", "abc", true),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "acb", false),
            ("a*a", "a", false), // the first and last pieces may not overlap
            ("a*a", "aa", true),
            ("Dev-*", "dev-1", false),
            ("v1.?", "v1.2", false), // `?` is literal
            ("v1.?", "v1.?", true),
            ("**x", "x", true),
        ];
        for (pattern, tag, want) in cases {
            assert_eq!(wildcard_match(pattern, tag), want, "{pattern} vs {tag}");
        }
    }

    #[test]
    fn modes_and_exclusions() {
        let m = |mode: &str| TagMutability {
            mode: mode.into(),
            wildcard_filters: vec!["dev-*".into()],
        };
        assert!(!m("MUTABLE").tag_is_immutable("dev-1"));
        assert!(m("IMMUTABLE").tag_is_immutable("prod"));
        assert!(!m("IMMUTABLE_WITH_EXCLUSION").tag_is_immutable("dev-1"));
        assert!(m("IMMUTABLE_WITH_EXCLUSION").tag_is_immutable("prod"));
        assert!(m("MUTABLE_WITH_EXCLUSION").tag_is_immutable("dev-1"));
        assert!(!m("MUTABLE_WITH_EXCLUSION").tag_is_immutable("prod"));
        assert!(m("SOMETHING_NEW").tag_is_immutable("prod"));
    }

    #[test]
    fn paths() {
        assert_eq!(
            Target::parse("/v2/a/b/manifests/v1"),
            Target::Manifest {
                repo: "a/b",
                reference: "v1"
            }
        );
        assert_eq!(Target::parse("/v2/a/blobs/uploads/123"), Target::Repo("a"));
        assert_eq!(Target::parse("/v2/a/tags/list"), Target::Repo("a"));
        assert_eq!(Target::parse("/v2/"), Target::Other);
        assert_eq!(Target::parse("/v2/_catalog"), Target::Other);
        assert!(is_tag("v1") && !is_tag("sha256:00"));
    }
}
