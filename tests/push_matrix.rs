//! Every verdict proved against a real push: ecr-doctor's prediction and the outcome of a real `docker push`
//! through the ECR-faithful immutability gate (tests/gate), over engine × artifact × repository mode × tag
//! state. The hard rule: never a predicted success where the push fails. A predicted failure where the push
//! succeeds, or a check that could not decide, is a disagreement too.
//!
//! Each cell is data (a `Cell` or `BuildCell`: engine and what runs on it), run by one runner
//! (`run_cells`). Its expected outcome is its row of docs/push-matrix.md: a verdict (exit code) or failing
//! checks that differ from the committed page fail the run, as a disagreement with the push does.
//!
//! The table goes to docs/push-matrix.md with `UPDATE_MATRIX=1`, else to target/push-matrix.md.
//! `PUSH_MATRIX_JOBS` sets how many cells run at once (default 8). `PUSH_MATRIX_CELLS` (comma-separated
//! parts of cell names, e.g. `old-classic/noprov-immutable,build/new-containerd/sid-bake`) runs only those
//! cells, still checked against the committed page.

// The parts of tests/common this binary uses, and no others (docs/testing.md, "The harness").
mod common {
    pub mod artifacts;
    pub mod buildx;
    pub mod canary;
    pub mod cli;
    pub mod docker;
    pub mod ecr_extras;
    pub mod engine;
    pub mod engines;
    pub mod filters;
    pub mod http;
    pub mod images;
    pub mod json;
    pub mod logins;
    pub mod names;
    pub mod peers;
    pub mod registry;
    pub mod reply;
    pub mod run;
    pub mod servers;
    pub use {
        buildx::*, canary::*, cli::*, engine::*, filters::*, http::*, logins::*, names::*,
        peers::*, run::*, servers::*,
    };
}
mod gate;
#[path = "gate/fixture.rs"]
mod gate_fixture;
#[path = "gate/log.rs"]
mod gate_log;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::ecr_extras::EcrExtras;
use common::{Engine, Reply, peers};
use gate::{Gate, ManifestPut, PutOutcome};
use serde_json::Value;
use sha2::{Digest, Sha256};

// --- the gate answers like ECR (raw HTTP, no Docker) --------------------------------------------------

#[test]
fn gate_answers_like_ecr() {
    let g = Gate::start(peers().registry(), peers().moto_url());
    let host = g.host();
    a_tls_hello_gets_go_net_https_answer(&host);
    a_missing_repository_is_name_unknown(&host);

    let repo = common::unique("gate-imm");
    g.create_repository(&repo, "IMMUTABLE", &[]);
    let config = upload_blob(&host, &repo, b"{}");
    assert!(
        config
            .location
            .starts_with(&format!("http://{host}/v2/{repo}/blobs/uploads/")),
        "upload locations point back at the gate: {}",
        config.location
    );
    let (m1, m2) = (
        manifest(&config.digest, "one"),
        manifest(&config.digest, "two"),
    );
    an_immutable_tag_refuses_every_put_by_tag(&g, &repo, &m1, &m2);
    exclusion_filters_are_read_fresh_on_every_put(&g, &repo, &m1, &m2);
}

/// A TLS ClientHello gets Go net/http's answer (what makes containerd fall back to plain HTTP).
fn a_tls_hello_gets_go_net_https_answer(host: &str) {
    let mut s = TcpStream::connect(host).unwrap();
    s.write_all(&[0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5])
        .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert_eq!(
        answer,
        "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"
    );
}

/// A repository moto does not know: ECR's NAME_UNKNOWN on the first request.
fn a_missing_repository_is_name_unknown(host: &str) {
    let missing = common::unique("gate-missing");
    let r = http(host, "GET", &format!("/v2/{missing}/tags/list"), &[], b"");
    assert_eq!(r.status, 404, "{r:?}");
    assert_eq!(
        r.json()["errors"][0],
        serde_json::json!({"code": "NAME_UNKNOWN", "message": format!(
            "The repository with name '{missing}' does not exist in the registry with id '123456789012'")})
    );
}

/// Once an immutable tag exists, ECR refuses every PUT to it, of the same digest or another; PUTs by digest
/// write no tag and are never refused. Every PUT is recorded, every accepted one mirrored into moto.
fn an_immutable_tag_refuses_every_put_by_tag(g: &Gate, repo: &str, m1: &str, m2: &str) {
    let host = g.host();
    let (d1, d2) = (sha256(m1.as_bytes()), sha256(m2.as_bytes()));
    assert_eq!(put_manifest(&host, repo, "v1", m1).status, 201);
    assert_eq!(
        g.tag_digest(repo, "v1").as_deref(),
        Some(d1.as_str()),
        "mirrored into moto"
    );
    assert_eq!(put_manifest(&host, repo, "v1", m1).status, 400);
    let refused = put_manifest(&host, repo, "v1", m2);
    assert_eq!(refused.status, 400);
    assert_eq!(refused.header("content-type"), Some("application/json"));
    assert_eq!(
        refused.body,
        format!(
            r#"{{"errors":[{{"code":"TAG_INVALID","message":"The image tag 'v1' already exists in the '{repo}' repository and cannot be overwritten because the repository is immutable."}}]}}"#
        )
    );
    assert_eq!(g.tag_digest(repo, "v1").as_deref(), Some(d1.as_str()));
    let head = http(
        &host,
        "HEAD",
        &format!("/v2/{repo}/manifests/v1"),
        &[("Accept", "application/vnd.oci.image.manifest.v1+json")],
        b"",
    );
    assert_eq!(
        head.header("docker-content-digest"),
        Some(d1.as_str()),
        "the registry kept v1"
    );
    assert_eq!(put_manifest(&host, repo, &d2, m2).status, 201);

    let puts = g.puts_since(0, repo);
    let seen: Vec<_> = puts
        .iter()
        .map(|p| {
            (
                p.reference.as_str(),
                p.status,
                matches!(p.outcome, PutOutcome::Refused { .. }),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("v1", 201, false),
            ("v1", 400, true),
            ("v1", 400, true),
            (d2.as_str(), 201, false)
        ]
    );
    assert!(
        puts.iter()
            .all(|p| p.mirror.clone().unwrap_or(Ok(())).is_ok()),
        "{puts:?}"
    );
}

/// Exclusion filters, read fresh from moto on every PUT: `dev-*` protects dev-1 and frees prod.
fn exclusion_filters_are_read_fresh_on_every_put(g: &Gate, repo: &str, m1: &str, m2: &str) {
    let host = g.host();
    g.set_tag_mutability(repo, "MUTABLE_WITH_EXCLUSION", &["dev-*"]);
    for (tag, again) in [("prod", 201), ("dev-1", 400)] {
        assert_eq!(put_manifest(&host, repo, tag, m1).status, 201, "{tag}");
        assert_eq!(put_manifest(&host, repo, tag, m1).status, again, "{tag}");
        assert_eq!(put_manifest(&host, repo, tag, m2).status, again, "{tag}");
    }
    assert_eq!(
        g.tag_digest(repo, "prod").as_deref(),
        Some(sha256(m2.as_bytes()).as_str())
    );
}

struct Uploaded {
    digest: String,
    location: String,
}

/// A blob, uploaded through the gate the way Docker does (POST, then PUT to the returned location).
fn upload_blob(host: &str, repo: &str, blob: &[u8]) -> Uploaded {
    let start = http(
        host,
        "POST",
        &format!("/v2/{repo}/blobs/uploads/"),
        &[],
        b"",
    );
    assert_eq!(start.status, 202, "{start:?}");
    let location = start.header("location").unwrap().to_string();
    let digest = sha256(blob);
    let path = location
        .split_once(host)
        .map_or(location.as_str(), |(_, p)| p);
    let sep = if path.contains('?') { '&' } else { '?' };
    let done = http(
        host,
        "PUT",
        &format!("{path}{sep}digest={digest}"),
        &[],
        blob,
    );
    assert_eq!(done.status, 201, "{done:?}");
    Uploaded { digest, location }
}

fn manifest(config: &str, note: &str) -> String {
    format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config}","size":2}},"layers":[],"annotations":{{"note":"{note}"}}}}"#
    )
}

fn put_manifest(host: &str, repo: &str, reference: &str, manifest: &str) -> Reply {
    http(
        host,
        "PUT",
        &format!("/v2/{repo}/manifests/{reference}"),
        &[("Content-Type", "application/vnd.oci.image.manifest.v1+json")],
        manifest.as_bytes(),
    )
}

fn sha256(bytes: &[u8]) -> String {
    let hex: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

/// One HTTP/1.1 exchange on its own connection.
fn http(host: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    common::request(host, method, path, headers, body)
        .unwrap_or_else(|e| panic!("{method} http://{host}{path}: {e}"))
}

// --- the matrix ------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Artifact {
    /// `docker build` with buildx defaults: on the containerd store an index with a provenance attestation.
    Build,
    /// `docker build --provenance=false`: a single image manifest.
    NoProvenance,
    /// `docker import`: a single image manifest made without any build.
    Import,
    /// `docker build` of an image with a 300 MiB incompressible layer: what users push. Only on the engine
    /// that must read it from the image export (26.x, containerd store), and only in the cells of
    /// [`Artifact::covers`].
    Big,
}

impl Artifact {
    const ALL: [Artifact; 4] = [
        Artifact::Build,
        Artifact::NoProvenance,
        Artifact::Import,
        Artifact::Big,
    ];

    /// Whether this artifact is pushed on `engine` in `mode` and `state`: the big image in the cells that
    /// tell its verdicts apart (a new and an existing tag, mutable and immutable), where pushing 300 MiB
    /// through the gate is worth its time.
    fn covers(self, engine: &str, mode: Mode, state: TagState) -> bool {
        self != Artifact::Big
            || (engine == "old-containerd"
                && matches!(mode, Mode::Mutable | Mode::Immutable)
                && state != TagState::Same)
    }

    fn slug(self) -> &'static str {
        match self {
            Artifact::Build => "build",
            Artifact::NoProvenance => "noprov",
            Artifact::Import => "import",
            Artifact::Big => "big",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Artifact::Build => "`docker build`",
            Artifact::NoProvenance => "`--provenance=false`",
            Artifact::Import => "`docker import`",
            Artifact::Big => "`docker build`, 300 MiB layer",
        }
    }

    /// A local image of this kind whose content is `content`; returns its ID.
    fn make(self, engine: &Engine, name: &str, content: &str) -> String {
        match self {
            Artifact::Build => engine.build(name, content, &[]),
            Artifact::NoProvenance => engine.build(name, content, &["--provenance=false"]),
            Artifact::Import => engine.import(name, content),
            Artifact::Big => engine.build_big(name, content, &[]),
        }
    }
}

/// The repository's tag mutability, and the tag pushed. Exclusion cells use filter `dev-*` with tags
/// `dev-1` (matches) and `prod` (does not): a pair on which moto's prefix-regex reading of filters agrees
/// with ECR's anchored glob, so ecr-doctor (reading moto) and the gate see the same repository.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Mode {
    Mutable,
    Immutable,
    ImmutableExcl {
        matches: bool,
    },
    MutableExcl {
        matches: bool,
    },
    /// No repository at all (tag state "new" only).
    NoRepository,
}

impl Mode {
    const ALL: [Mode; 7] = [
        Mode::Mutable,
        Mode::Immutable,
        Mode::ImmutableExcl { matches: true },
        Mode::ImmutableExcl { matches: false },
        Mode::MutableExcl { matches: true },
        Mode::MutableExcl { matches: false },
        Mode::NoRepository,
    ];

    fn api(self) -> Option<&'static str> {
        Some(match self {
            Mode::Mutable => "MUTABLE",
            Mode::Immutable => "IMMUTABLE",
            Mode::ImmutableExcl { .. } => "IMMUTABLE_WITH_EXCLUSION",
            Mode::MutableExcl { .. } => "MUTABLE_WITH_EXCLUSION",
            Mode::NoRepository => return None,
        })
    }

    fn filters(self) -> &'static [&'static str] {
        match self {
            Mode::ImmutableExcl { .. } | Mode::MutableExcl { .. } => &["dev-*"],
            _ => &[],
        }
    }

    fn tag(self) -> &'static str {
        match self {
            Mode::ImmutableExcl { matches: true } | Mode::MutableExcl { matches: true } => "dev-1",
            Mode::ImmutableExcl { matches: false } | Mode::MutableExcl { matches: false } => "prod",
            _ => "v1",
        }
    }

    fn slug(self) -> &'static str {
        match self {
            Mode::Mutable => "mutable",
            Mode::Immutable => "immutable",
            Mode::ImmutableExcl { matches: true } => "iwe-hit",
            Mode::ImmutableExcl { matches: false } => "iwe-miss",
            Mode::MutableExcl { matches: true } => "mwe-hit",
            Mode::MutableExcl { matches: false } => "mwe-miss",
            Mode::NoRepository => "norepo",
        }
    }

    fn label(self) -> String {
        match self.api() {
            None => "(no repository)".into(),
            Some(api) if self.filters().is_empty() => api.into(),
            Some(api) => format!("{api} `dev-*`"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum TagState {
    /// The tag is not in ECR.
    New,
    /// The same local image was pushed to the tag once already, through the gate.
    Same,
    /// The tag holds an earlier image; the local one is a rebuild with other content.
    Other,
}

impl TagState {
    const ALL: [TagState; 3] = [TagState::New, TagState::Same, TagState::Other];

    fn slug(self) -> &'static str {
        match self {
            TagState::New => "new",
            TagState::Same => "same",
            TagState::Other => "other",
        }
    }

    fn label(self) -> &'static str {
        match self {
            TagState::New => "new",
            TagState::Same => "same digest",
            TagState::Other => "other digest",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Cell {
    engine: usize,
    artifact: Artifact,
    mode: Mode,
    state: TagState,
}

struct EngineUnderTest {
    engine: Engine,
    containerd: bool,
    /// `docker version` of the server, e.g. `26.1.5+dfsg1`.
    server: String,
    buildx: String,
}

/// Two local images per engine and artifact: `a` (pushed first) and `b` (the rebuild, other content).
struct Images {
    a: String,
    b: String,
    /// Their image IDs (unique to the run: the content names the run).
    ids: Vec<String>,
}

/// What one cell observed.
#[derive(Default)]
struct Row {
    repo: String,
    /// ecr-doctor's exit code, and the checks that failed / could not decide.
    code: i32,
    failed: Vec<String>,
    unknown: Vec<String>,
    /// Every unknown is one no probe can resolve before the push (see `Agreement::Explained`).
    unknown_explained: bool,
    push_ok: bool,
    push_msg: String,
    puts: Vec<ManifestPut>,
    /// The digest the tag held in moto before the checked push.
    remote_before: Option<String>,
    /// Set when the cell could not be run as designed (never a verdict).
    broken: Option<String>,
    doctor_time: Duration,
    push_time: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Agreement {
    BothSucceed,
    BothFail,
    /// The hard rule broken: ecr-doctor said go, the push failed.
    MissedFailure,
    /// ecr-doctor said stop, and the push succeeded.
    FalseAlarm,
    /// ecr-doctor could not decide, for a reason that is no fact anyone can observe before the push: the
    /// digest a build will have (it decides whether an existing immutable tag takes it).
    Explained,
    Broken(String),
}

impl Agreement {
    fn ok(&self) -> bool {
        matches!(
            self,
            Agreement::BothSucceed | Agreement::BothFail | Agreement::Explained
        )
    }

    fn label(&self) -> String {
        match self {
            Agreement::BothSucceed => "✓ both succeed".into(),
            Agreement::BothFail => "✓ both fail".into(),
            Agreement::MissedFailure => "✗ **predicted success, push failed**".into(),
            Agreement::FalseAlarm => "✗ **predicted failure, push succeeded**".into(),
            Agreement::Explained => "? undecided, explained: the digest it will make".into(),
            Agreement::Broken(why) => format!("✗ broken: {why}"),
        }
    }
}

impl Row {
    /// The table cells of a row: ecr-doctor's verdict, the checks that failed or could not decide, and
    /// the real push.
    fn cells(&self) -> (String, String, String) {
        let verdict = match self.code {
            0 => "pass (0)".to_string(),
            1 => "**fail** (1)".to_string(),
            3 => "undecided (3)".to_string(),
            n => format!("exit {n}"),
        };
        let mut failing = self.failed.join(", ");
        if !self.unknown.is_empty() {
            let _ = write!(failing, " unknown: {}", self.unknown.join(", "));
        }
        let failing = match failing.trim() {
            "" => "—".to_string(),
            f => f.to_string(),
        };
        let push = if self.broken.is_some() && self.push_time.is_zero() {
            "—".to_string()
        } else if self.push_ok {
            "ok".to_string()
        } else {
            format!("**FAIL**: `{}`", self.push_msg)
        };
        (verdict, failing, push)
    }
}

/// A cell where a check could not decide is broken, but for the digest a build will make: every other fact
/// is observable here, so such an unknown is a bug. A failure another check decided stands beside it.
fn agreement(row: &Row) -> Agreement {
    if let Some(why) = &row.broken {
        return Agreement::Broken(why.clone());
    }
    if !row.unknown.is_empty() && !row.unknown_explained {
        return Agreement::Broken(format!(
            "undecided: {} could not decide",
            row.unknown.join(", ")
        ));
    }
    match (row.code, row.push_ok) {
        (3, _) => Agreement::Explained,
        (0, true) => Agreement::BothSucceed,
        (1, false) => Agreement::BothFail,
        (0, false) => Agreement::MissedFailure,
        (1, true) => Agreement::FalseAlarm,
        (code, _) => Agreement::Broken(format!("ecr-doctor exited {code}")),
    }
}

/// Shared by all cells of a run.
struct Matrix {
    gate: Gate,
    /// moto, behind the stand-in for the ECR APIs it lacks (no creation templates, no pull-through cache
    /// rules), so that every fact but a future build's digest is observable.
    ecr: EcrExtras,
    /// Prefix of every repository of this run (moto and the registry keep state between runs).
    run: String,
    engines: Vec<EngineUnderTest>,
    images: BTreeMap<(usize, Artifact), Images>,
    configs: ClientConfigs,
    /// The images imagetools create assembles from, made before the build cells that need them.
    sources: Option<[String; 2]>,
}

impl Matrix {
    /// A cell's repository: its name under this run's prefix.
    fn repo(&self, cell: &impl MatrixCell) -> String {
        format!("{}/{}", self.run, cell.name(&self.engines))
    }

    /// Removes this run's images with every name and digest reference the cells gave them, so repeated
    /// runs do not pile up thousands of references in the engines (which every later `docker images` and
    /// ecr-doctor probe would wade through).
    fn remove_images(&self) {
        for (i, e) in self.engines.iter().enumerate() {
            let mut args = vec!["image", "rm", "--force"];
            for ((engine, _), img) in &self.images {
                if *engine == i {
                    args.extend(img.ids.iter().map(String::as_str));
                }
            }
            // Best effort: a leftover costs disk space, not correctness.
            let _ = e.engine.docker(&args, None);
        }
    }

    /// Sets up the cell's state, asks ecr-doctor, then pushes for real.
    fn run_cell(&self, cell: &Cell) -> Row {
        let e = &self.engines[cell.engine];
        let img = &self.images[&(cell.engine, cell.artifact)];
        let tag = cell.mode.tag();
        let mut row = Row {
            repo: self.repo(cell),
            ..Row::default()
        };
        let repo = row.repo.clone();
        let pushed = format!("{}/{repo}:{tag}", self.gate.host());
        let checked = common::ecr_ref(&repo, tag);

        // 1. The tag state. "Pushed once already" means through the gate, with the repository still
        // MUTABLE, and only then given its mode: a pre-push into an immutable tag could itself fail
        // (that is the founding case), which would leave a different state than the one named.
        match (cell.state, cell.mode.api()) {
            (TagState::New, None) => {}
            (TagState::New, Some(mode)) => {
                self.gate
                    .create_repository(&repo, mode, cell.mode.filters())
            }
            (_, mode) => {
                let mode = mode.expect("tag states need a repository");
                self.gate.create_repository(&repo, "MUTABLE", &[]);
                e.engine.docker_ok(&["tag", &img.a, &pushed], None);
                let first = e.engine.docker(&["push", &pushed], None);
                if !first.status.success() {
                    row.broken = Some(format!(
                        "the first push failed: {}",
                        last_line(&first.stderr)
                    ));
                    return row;
                }
                self.gate
                    .set_tag_mutability(&repo, mode, cell.mode.filters());
            }
        }
        let local = if cell.state == TagState::Other {
            &img.b
        } else {
            &img.a
        };
        e.engine.docker_ok(&["tag", local, &pushed], None);
        e.engine.docker_ok(&["tag", local, &checked], None);
        match self.check_state(e, cell, &repo, tag, &pushed) {
            Ok(remote) => row.remote_before = remote,
            Err(why) => {
                row.broken = Some(why);
                return row;
            }
        }

        // 2. The prediction.
        let t = Instant::now();
        // A generous timeout: the matrix proves verdicts, not speed (push_verdicts times the big image), and
        // its cells push in parallel, which slows the engine's image export.
        let mut cmd = common::doctor(
            Some(&e.engine),
            &["check", "--format", "json", "--timeout", "60", &checked],
        );
        cmd.env("AWS_ENDPOINT_URL_ECR", &self.ecr.url);
        let run = common::run(cmd);
        row.doctor_time = t.elapsed();
        if !record_prediction(&mut row, &run) {
            return row;
        }

        // 3. The real push.
        self.push_for_real(&mut row, || e.engine.docker(&["push", &pushed], None));
        row
    }

    /// Runs the real push of a cell and records what the gate saw of it.
    fn push_for_real(&self, row: &mut Row, push: impl FnOnce() -> std::process::Output) {
        let mark = self.gate.mark();
        let t = Instant::now();
        let out = push();
        row.push_time = t.elapsed();
        row.puts = self.gate.puts_since(mark, &row.repo);
        row.push_ok = out.status.success();
        if !row.push_ok {
            row.push_msg = self.normalise(&last_line(&out.stderr), &row.repo);
        }
        if let Some(p) = row.puts.iter().find(|p| matches!(&p.mirror, Some(Err(_)))) {
            row.broken = Some(format!("gate could not mirror a PUT into moto: {p:?}"));
        }
    }

    /// Checks the cell's tag state as moto (the one source of truth) holds it; returns the tag's digest.
    fn check_state(
        &self,
        e: &EngineUnderTest,
        cell: &Cell,
        repo: &str,
        tag: &str,
        pushed: &str,
    ) -> Result<Option<String>, String> {
        if cell.mode == Mode::NoRepository {
            return Ok(None);
        }
        let remote = self.gate.tag_digest(repo, tag);
        // The digest the local image would be pushed as: on the containerd store its ID; on the classic
        // store a digest exists only for a repository it was pushed to.
        let local = if e.containerd {
            Some(e.engine.image_id(pushed))
        } else {
            let digests = e.engine.docker_ok(
                &[
                    "image",
                    "inspect",
                    "--format",
                    "{{json .RepoDigests}}",
                    pushed,
                ],
                None,
            );
            let prefix = format!("{}/{repo}@", self.gate.host());
            serde_json::from_str::<Vec<String>>(&digests)
                .unwrap_or_default()
                .iter()
                .find_map(|d| d.strip_prefix(&prefix).map(str::to_string))
        };
        let ok = match cell.state {
            TagState::New => remote.is_none(),
            TagState::Same => remote.is_some() && remote == local,
            TagState::Other => remote.is_some() && remote != local,
        };
        if ok {
            Ok(remote)
        } else {
            Err(format!(
                "state {:?} not established: moto {remote:?}, local {local:?}",
                cell.state
            ))
        }
    }

    /// A push error with this run's specifics (port, repository, digests) taken out, so the table is
    /// stable from run to run.
    fn normalise(&self, msg: &str, repo: &str) -> String {
        let mut msg = msg.replace(&self.gate.host(), "GATE").replace(repo, "REPO");
        // A blob mount names whichever repository of this run had the blob first.
        if let Some(i) = msg.find("from=") {
            let end = msg[i..].find([':', ' ', '&']).map_or(msg.len(), |n| i + n);
            msg.replace_range(i + 5..end, "…");
        }
        let mut out = String::new();
        let mut rest = msg.as_str();
        while let Some(i) = rest.find("sha256:") {
            let hex_len = rest[i + 7..]
                .chars()
                .take_while(char::is_ascii_hexdigit)
                .count();
            out.push_str(&rest[..i + 7]);
            out.push('…');
            rest = &rest[i + 7 + hex_len..];
        }
        out.push_str(rest);
        out.replace('|', "\\|")
    }
}

/// What ecr-doctor could not decide by design: the digest of a build (or of an index imagetools create
/// assembles) not yet run.
const DIGEST_UNKNOWN: &str = "is known only after it runs";

/// Reads ecr-doctor's verdict into `row`; false, with the row marked broken, when it gave none.
fn record_prediction(row: &mut Row, run: &common::Run) -> bool {
    row.code = run.code;
    if !matches!(run.code, 0 | 1 | 3) {
        row.broken = Some(format!(
            "ecr-doctor exited {}: {}",
            run.code,
            run.stderr.trim()
        ));
        return false;
    }
    let doc = run.json();
    let findings = doc["findings"].as_array().unwrap();
    let with = |outcome: &str| -> Vec<&Value> {
        findings
            .iter()
            .filter(|f| f["outcome"] == outcome)
            .collect()
    };
    let names = |fs: Vec<&Value>| -> Vec<String> {
        fs.iter()
            .map(|f| f["check"].as_str().unwrap().to_string())
            .collect()
    };
    // An advisory check's unknown that the run said on its summary line instead of deciding on it (push-
    // permission: the cells push with a `docker login` token, whose principal no API call can tell) is no
    // undecided prediction.
    let not_verified = &doc["summary"]["not_verified"];
    let said = |f: &&Value| {
        f["check"]
            .as_str()
            .and_then(ecr_doctor_checks::registry::find)
            .and_then(|c| c.info().advisory)
            .is_some_and(|note| {
                not_verified
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|n| n == note)
            })
    };
    let unknown: Vec<&Value> = with("unknown").into_iter().filter(|f| !said(f)).collect();
    row.failed = names(with("fail"));
    row.unknown_explained = unknown
        .iter()
        .all(|f| f["message"].as_str().unwrap_or("").contains(DIGEST_UNKNOWN));
    row.unknown = names(unknown);
    true
}

fn last_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Runs `f` over `items` on `jobs` threads; results in the order of `items`. A panic in one item
/// becomes that item's `Err`, not the whole run's end.
fn parallel<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<Result<R, String>> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<R, String>>>> =
        Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(item)))
                        .map_err(|p| {
                            p.downcast_ref::<String>()
                                .cloned()
                                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                                .unwrap_or_else(|| "panic".into())
                        });
                    results.lock().unwrap()[i] = Some(r);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap()
        .into_iter()
        .map(Option::unwrap)
        .collect()
}

/// One cell of either table, as data: its name (the repository it pushes to, under the run's prefix), how
/// to run it, and its row in docs/push-matrix.md. [`run_cells`] runs any list of them.
trait MatrixCell: Copy + Ord + Send + Sync {
    fn engine(&self) -> usize;
    /// E.g. `old-classic/noprov-immutable-same`, `build/new-containerd/sid-bake-prov-new`:
    /// `PUSH_MATRIX_CELLS` selects cells by it.
    fn name(&self, engines: &[EngineUnderTest]) -> String;
    fn run(&self, m: &Matrix) -> Row;
    fn row(&self, m: &Matrix, r: &Row, a: &Agreement) -> String;
    /// Its table's heading level in the page: `##` for the pushes, `###` for the builds.
    const SECTION: &'static str;
}

impl MatrixCell for Cell {
    const SECTION: &'static str = "##";

    fn engine(&self) -> usize {
        self.engine
    }

    fn name(&self, engines: &[EngineUnderTest]) -> String {
        format!(
            "{}/{}-{}-{}",
            engines[self.engine].engine.name,
            self.artifact.slug(),
            self.mode.slug(),
            self.state.slug()
        )
    }

    fn run(&self, m: &Matrix) -> Row {
        m.run_cell(self)
    }

    fn row(&self, _: &Matrix, r: &Row, a: &Agreement) -> String {
        let (verdict, failing, push) = r.cells();
        format!(
            "| {} | {} | `{}` | {} | {verdict} | {} | {push} | {} | {} |",
            self.artifact.label(),
            self.mode.label(),
            self.mode.tag(),
            self.state.label(),
            failing,
            puts_summary(&r.puts, r.remote_before.as_deref()),
            a.label()
        )
    }
}

impl MatrixCell for BuildCell {
    const SECTION: &'static str = "###";

    fn engine(&self) -> usize {
        self.engine
    }

    fn name(&self, engines: &[EngineUnderTest]) -> String {
        format!(
            "build/{}/{}-{}-{}-{}",
            engines[self.engine].engine.name,
            self.client.slug(),
            self.command.slug(),
            if self.provenance { "prov" } else { "noprov" },
            if self.existing { "existing" } else { "new" },
        )
    }

    fn run(&self, m: &Matrix) -> Row {
        run_build_cell(m, self)
    }

    fn row(&self, m: &Matrix, r: &Row, a: &Agreement) -> String {
        let (verdict, failing, push) = r.cells();
        format!(
            "| {} {} | {} | {} | {} | {verdict} | {} | {push} | {} | {} |",
            self.client.slug(),
            m.configs
                .versions
                .get(&self.client)
                .map_or("", String::as_str),
            self.command.label(),
            self.provenance_label(),
            self.state_label(),
            failing,
            puts_summary(&r.puts, r.remote_before.as_deref()),
            a.label()
        )
    }
}

/// The runner: every cell on `jobs` threads, each row judged against the real push, in table order.
fn run_cells<C: MatrixCell>(m: &Matrix, cells: Vec<C>, jobs: usize) -> Vec<(C, Row, Agreement)> {
    let rows = parallel(&cells, jobs, |c| c.run(m));
    let mut results: Vec<_> = cells
        .into_iter()
        .zip(rows)
        .map(|(c, r)| {
            let r = r.unwrap_or_else(|panic| Row {
                broken: Some(panic.lines().next().unwrap_or_default().to_string()),
                ..Row::default()
            });
            let a = agreement(&r);
            (c, r, a)
        })
        .collect();
    results.sort_by_key(|(c, ..)| *c);
    results
}

/// `PUSH_MATRIX_CELLS=old-classic/noprov-immutable,build/new-containerd/sid-bake`: only the cells whose name
/// contains one of these runs (the table goes to target/push-matrix.md); unset, every cell.
struct Selection(Option<Vec<String>>);

impl Selection {
    fn from_env() -> Selection {
        Selection(std::env::var("PUSH_MATRIX_CELLS").ok().map(|v| {
            v.split(',')
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect()
        }))
    }

    fn pick<C: MatrixCell>(&self, cells: Vec<C>, engines: &[EngineUnderTest]) -> Vec<C> {
        let Some(parts) = &self.0 else { return cells };
        cells
            .into_iter()
            .filter(|c| parts.iter().any(|p| c.name(engines).contains(p.as_str())))
            .collect()
    }
}

/// docs/push-matrix.md as the cells' expected outcomes: for each table row (engine, and the columns that
/// name the cell), ecr-doctor's verdict (exit code) and the checks that failed.
struct Expected(HashMap<String, String>);

impl Expected {
    fn committed() -> Expected {
        let page =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(DOC)).unwrap();
        let mut rows = HashMap::new();
        let mut section = None;
        for line in page.lines() {
            if line.starts_with('#') {
                section = line.split_once(' ').and_then(|(level, rest)| {
                    Some(format!("{level} {}", rest.split_once(" — Engine ")?.0))
                });
            } else if let Some(section) = &section
                && let Some((key, outcome)) = Self::split(line)
            {
                rows.insert(format!("{section} {key}"), outcome);
            }
        }
        Expected(rows)
    }

    /// A table row's cell-naming columns (the first four) and its outcome columns (verdict, failing
    /// checks).
    fn split(row: &str) -> Option<(String, String)> {
        let cols: Vec<&str> = row
            .strip_prefix("| ")?
            .trim_end_matches('|')
            .split(" | ")
            .map(str::trim)
            .collect();
        (cols.len() >= 6).then(|| (cols[..4].join(" | "), cols[4..6].join(" | ")))
    }

    /// Where a cell's outcome differs from the committed page's.
    fn mismatches<C: MatrixCell>(
        &self,
        m: &Matrix,
        results: &[(C, Row, Agreement)],
    ) -> Vec<String> {
        let mut bad = Vec::new();
        for (c, r, a) in results {
            let engine = &m.engines[c.engine()].engine.name;
            let (key, outcome) = Self::split(&c.row(m, r, a)).expect("a row has nine columns");
            match self.0.get(&format!("{} {engine} {key}", C::SECTION)) {
                Some(want) if *want == outcome => {}
                want => bad.push(format!(
                    "{}: {DOC} says {want:?}, this run {outcome:?}",
                    c.name(&m.engines)
                )),
            }
        }
        bad
    }
}

/// The generated page: written with `UPDATE_MATRIX=1`, else the run is checked against it.
const DOC: &str = "docs/push-matrix.md";

#[test]
fn push_matrix() {
    let started = Instant::now();
    let selection = Selection::from_env();
    let update = std::env::var_os("UPDATE_MATRIX").is_some_and(|v| v == "1");
    assert!(
        !update || selection.0.is_none(),
        "UPDATE_MATRIX=1 writes the whole matrix: unset PUSH_MATRIX_CELLS"
    );
    let jobs: usize = std::env::var("PUSH_MATRIX_JOBS")
        .ok()
        .and_then(|j| j.parse().ok())
        .unwrap_or(8);
    let engines = engines_under_test();
    let cells = selection.pick(push_cells(&engines), &engines);
    let builds = selection.pick(build_cells(engines.len()), &engines);
    let run = common::unique("pm");

    // Images: two per engine and artifact, built once and reused by every cell (cells only add tags).
    let t = Instant::now();
    let images = build_images(&engines, &cells, &run, jobs);
    let build_time = t.elapsed();
    let p = peers();
    let mut m = Matrix {
        gate: Gate::start(p.registry(), p.moto_url()),
        ecr: EcrExtras::start(p.moto_url(), serde_json::json!([]), serde_json::json!([])),
        run,
        configs: ClientConfigs::new(engines.len()),
        engines,
        images,
        sources: None,
    };
    let t = Instant::now();
    let results = run_cells(&m, cells, jobs);
    let cells_time = t.elapsed();
    m.remove_images();
    let push_total = started.elapsed();
    let t = Instant::now();
    if builds.iter().any(|c| !c.command.builds()) {
        m.sources = Some(imagetools_sources(&m));
    }
    let builds = run_cells(&m, builds, jobs);
    m.remove_build_images(&builds);
    let builds_time = t.elapsed();

    let timing = Timing::of(&results, jobs, build_time, cells_time, push_total);
    let mut report = render(&m, &results, &timing);
    report.push_str(&render_builds(&m, &builds, builds_time));
    let out = if update && selection.0.is_none() {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(DOC)
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target/push-matrix.md")
    };
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    std::fs::write(&out, &report).unwrap();
    eprintln!("{}", timing.line(results.len()));
    eprintln!("matrix written to {}", out.display());

    let mut bad = disagreements(&m, &results, &builds);
    if !update {
        let expected = Expected::committed();
        bad.extend(expected.mismatches(&m, &results));
        bad.extend(expected.mismatches(&m, &builds));
    }
    assert!(
        bad.is_empty(),
        "{} of {} cells disagree with the real push or with {DOC} (full table: {}):\n{}",
        bad.len(),
        results.len() + builds.len(),
        out.display(),
        bad.join("\n")
    );
}

/// The engines the peers run, in table order; a "new" one Debian sid could not provide is skipped.
fn engines_under_test() -> Vec<EngineUnderTest> {
    let p = peers();
    [
        "old-containerd",
        "new-containerd",
        "old-classic",
        "new-classic",
    ]
    .iter()
    .filter_map(|name| {
        let engine = if name.starts_with("new-") {
            p.engine(name).or_else(|| {
                eprintln!("SKIPPED engine {name}: not in the peers' env file");
                None
            })?
        } else {
            p.required_engine(name)
        };
        let server = engine.docker_ok(&["version", "--format", "{{.Server.Version}}"], None);
        let buildx = engine.docker_ok(&["buildx", "version"], None);
        Some(EngineUnderTest {
            containerd: name.ends_with("containerd"),
            server,
            buildx: buildx.split_whitespace().nth(1).unwrap_or("?").to_string(),
            engine,
        })
    })
    .collect()
}

/// Every push cell: engine × artifact × repository mode × tag state. Engines vary fastest, so that
/// concurrent cells spread over all engines.
fn push_cells(engines: &[EngineUnderTest]) -> Vec<Cell> {
    let mut cells = Vec::new();
    for state in TagState::ALL {
        for mode in Mode::ALL {
            if mode == Mode::NoRepository && state != TagState::New {
                continue;
            }
            for artifact in Artifact::ALL {
                for (engine, e) in engines.iter().enumerate() {
                    if artifact.covers(&e.engine.name, mode, state) {
                        cells.push(Cell {
                            engine,
                            artifact,
                            mode,
                            state,
                        });
                    }
                }
            }
        }
    }
    cells
}

/// The local images the push cells tag and push: two per engine and artifact they use.
fn build_images(
    engines: &[EngineUnderTest],
    cells: &[Cell],
    run: &str,
    jobs: usize,
) -> BTreeMap<(usize, Artifact), Images> {
    let wanted: Vec<(usize, Artifact)> = (0..engines.len())
        .flat_map(|e| Artifact::ALL.map(|a| (e, a)))
        .filter(|&(e, a)| cells.iter().any(|c| c.engine == e && c.artifact == a))
        .collect();
    let built = parallel(&wanted, jobs, |&(e, a)| {
        let engine = &engines[e].engine;
        let name = |v: &str| format!("matrix-src/{}:{run}-{v}", a.slug());
        let ids = ["a", "b"]
            .map(|v| {
                a.make(
                    engine,
                    &name(v),
                    &format!("{run} {} {} {v}", engine.name, a.slug()),
                )
            })
            .to_vec();
        Images {
            a: name("a"),
            b: name("b"),
            ids,
        }
    });
    wanted
        .iter()
        .copied()
        .zip(built)
        .map(|(k, r)| (k, r.unwrap_or_else(|e| panic!("building {k:?}: {e}"))))
        .collect()
}

/// One line per cell that does not agree with its real push.
fn disagreements(
    m: &Matrix,
    results: &[(Cell, Row, Agreement)],
    builds: &[(BuildCell, Row, Agreement)],
) -> Vec<String> {
    let unknown = |r: &Row| {
        if r.unknown.is_empty() {
            String::new()
        } else {
            format!(" unknown: {}", r.unknown.join(", "))
        }
    };
    let bad_builds = builds.iter().filter(|(_, _, a)| !a.ok()).map(|(c, r, a)| {
        format!(
            "{} | buildx {} | {} | {} | {} | exit {} [{}{}] | push {} | {}",
            m.engines[c.engine].engine.name,
            c.client.slug(),
            c.command.label(),
            c.provenance_label(),
            c.state_label(),
            r.code,
            r.failed.join(", "),
            unknown(r),
            if r.push_ok { "ok" } else { &r.push_msg },
            a.label()
        )
    });
    results
        .iter()
        .filter(|(_, _, a)| !a.ok())
        .map(|(c, r, a)| {
            format!(
                "{} | {} | {} | {} | {} | exit {} [{}] | push {} | {}",
                m.engines[c.engine].engine.name,
                c.artifact.slug(),
                c.mode.label(),
                c.mode.tag(),
                c.state.label(),
                r.code,
                r.failed.join(", "),
                if r.push_ok { "ok" } else { &r.push_msg },
                a.label()
            )
        })
        .chain(bad_builds)
        .collect()
}

struct Timing {
    jobs: usize,
    build: Duration,
    cells: Duration,
    total: Duration,
    /// Mean time of one `ecr-doctor check` and of one checked `docker push`.
    doctor: Duration,
    push: Duration,
}

impl Timing {
    /// The push cells' timing: images built, cells run, and the mean check and push of a cell.
    fn of(
        results: &[(Cell, Row, Agreement)],
        jobs: usize,
        build: Duration,
        cells: Duration,
        total: Duration,
    ) -> Timing {
        let mean = |f: fn(&Row) -> Duration| {
            let n = results.len().max(1) as u32;
            results.iter().map(|(_, r, _)| f(r)).sum::<Duration>() / n
        };
        Timing {
            jobs,
            build,
            cells,
            total,
            doctor: mean(|r| r.doctor_time),
            push: mean(|r| r.push_time),
        }
    }

    fn line(&self, cells: usize) -> String {
        format!(
            "{cells} cells in {:.0} s with {} at once (building the images: {:.0} s; cells: {:.0} s; \
             mean ecr-doctor check {:.2} s, mean docker push {:.2} s)",
            self.total.as_secs_f64(),
            self.jobs,
            self.build.as_secs_f64(),
            self.cells.as_secs_f64(),
            self.doctor.as_secs_f64(),
            self.push.as_secs_f64()
        )
    }
}

/// `manifest 201, index 201` for the manifest PUTs by tag (marked when one re-sends the digest the tag
/// already held); PUTs by digest are counted.
fn puts_summary(puts: &[ManifestPut], remote_before: Option<&str>) -> String {
    let by_digest = puts.iter().filter(|p| !p.by_tag()).count();
    let by_tag: Vec<String> = puts
        .iter()
        .filter(|p| p.by_tag())
        .map(|p| {
            let kind = if p.media_type.contains("index") || p.media_type.contains("list") {
                "index"
            } else {
                "manifest"
            };
            let same = if remote_before == Some(p.digest.as_str()) {
                " (same digest)"
            } else {
                ""
            };
            format!("{kind} {}{same}", p.status)
        })
        .collect();
    match (by_digest, by_tag.is_empty()) {
        (0, true) => "none".into(),
        (0, false) => by_tag.join(", "),
        (n, true) => format!("({n} by digest)"),
        (n, false) => format!("{} ({n} by digest)", by_tag.join(", ")),
    }
}

fn render(m: &Matrix, results: &[(Cell, Row, Agreement)], timing: &Timing) -> String {
    let mut md = String::new();
    let w = &mut md;
    let _ = writeln!(w, "{}", INTRO.trim_end());

    let _ = writeln!(w, "\n## Engines\n");
    let _ = writeln!(
        w,
        "| engine | Docker Engine | image store | buildx |\n|---|---|---|---|"
    );
    for e in &m.engines {
        let store = if e.containerd {
            "containerd"
        } else {
            "classic (overlay2)"
        };
        let _ = writeln!(
            w,
            "| {} | {} | {store} | {} |",
            e.engine.name, e.server, e.buildx
        );
    }

    let _ = writeln!(w, "\n## Summary\n");
    let _ = writeln!(
        w,
        "| engine | cells | both succeed | both fail | predicted success, push failed | predicted failure, push succeeded | broken |\n|---|---|---|---|---|---|---|"
    );
    let count = |e: Option<usize>, f: &dyn Fn(&Agreement) -> bool| {
        results
            .iter()
            .filter(|(c, _, a)| e.is_none_or(|e| c.engine == e) && f(a))
            .count()
    };
    let names: Vec<(Option<usize>, String)> = (0..m.engines.len())
        .map(|i| (Some(i), m.engines[i].engine.name.clone()))
        .chain([(None, "**all**".to_string())])
        .collect();
    for (e, name) in names {
        let _ = writeln!(
            w,
            "| {name} | {} | {} | {} | {} | {} | {} |",
            count(e, &|_| true),
            count(e, &|a| *a == Agreement::BothSucceed),
            count(e, &|a| *a == Agreement::BothFail),
            count(e, &|a| *a == Agreement::MissedFailure),
            count(e, &|a| *a == Agreement::FalseAlarm),
            count(e, &|a| matches!(a, Agreement::Broken(_))),
        );
    }
    let _ = writeln!(w, "\nLast run: {}.", timing.line(results.len()));

    for (i, e) in m.engines.iter().enumerate() {
        let store = if e.containerd {
            "containerd image store"
        } else {
            "classic image store"
        };
        let _ = writeln!(w, "\n## {} — Engine {}, {store}\n", e.engine.name, e.server);
        let _ = writeln!(
            w,
            "| artifact | repository | tag | tag state | ecr-doctor | failing checks | docker push | manifest PUTs by tag | agreement |\n|---|---|---|---|---|---|---|---|---|"
        );
        for (c, r, a) in results.iter().filter(|(c, ..)| c.engine == i) {
            let _ = writeln!(w, "{}", c.row(m, r, a));
        }
    }
    md
}

const INTRO: &str = r#"# Push matrix: every verdict against a real push

Generated by `tests/push_matrix.rs` — do not edit. Regenerate with the peers running
(`scripts/peers start`, then `source target/peers/env`):

```sh
UPDATE_MATRIX=1 cargo nextest run --test push_matrix
```

(without `UPDATE_MATRIX=1` the table goes to `target/push-matrix.md`).

Each cell sets up one state, asks `ecr-doctor check --format json` for its verdict on the ECR reference
(`123456789012.dkr.ecr.us-east-1.amazonaws.com/REPO:TAG`, against moto's ECR API), then runs the real
`docker push` of the same local image with that engine's own CLI through the **gate** — a proxy in front of a
distribution registry that enforces ECR's tag immutability the way ECR does (`400 TAG_INVALID` when a
manifest PUT by tag would move an immutable tag; `404 NAME_UNKNOWN` for a missing repository). The gate reads
the repository's mode and filters and the tag's digest from moto and records every accepted PUT by tag back
into moto, so ecr-doctor and the push see one state.

The build-and-push paths (`ecr-doctor check -- docker buildx build --push …` before the same command) have
their own section at the end.

- **Verdict**: exit code 0 = predicted success, 1 = predicted failure.
- **Hard rule**: never a predicted success where the push fails; and here, where every fact is observable,
  no predicted failure where the push succeeds and no check that could not decide.
- **Artifacts**: `docker build` (buildx defaults: on the containerd store an image index with a provenance
  attestation), `docker build --provenance=false`, `docker import` (a single manifest without a build), and on
  26.x with the containerd store a default build with a 300 MiB incompressible layer (new and existing tag,
  mutable and immutable repository), whose shape ecr-doctor reads from the image export.
- **Repository modes**: exclusion filter `dev-*` with tag `dev-1` (matches) or `prod` (does not) — a pair on
  which moto's prefix-regex reading of filters and ECR's anchored glob agree; *(no repository)*: the gate
  answers every request for it with ECR's `404 NAME_UNKNOWN`.
- **Tag states**: *new*; *same digest* — this local image was pushed to the tag once already, through the
  gate, while the repository was MUTABLE, then the repository got its mode (a first push into an immutable
  tag may itself fail, which would leave another state); *other digest* — the tag holds an earlier image and
  the local one is a rebuild with other content (for `docker import`: a re-import of other content).
- **Manifest PUTs by tag**: what the gate saw during the checked push; `manifest 400` is a refused PUT.
  Once an immutable tag exists ECR refuses every PUT to it, even of the digest it already holds
  (aws/containers-roadmap#2179, aws/aws-cli#8671): a pusher that looks first (HEAD) and finds the tag at its
  digest sends no PUT and succeeds (the containerd store); the classic store's pusher always PUTs, and
  fails."#;

// --- build-and-push cells --------------------------------------------------------------------------

/// The buildx a cell's docker CLI runs: each distribution's, as the plugin in the cell's DOCKER_CONFIG.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Client {
    /// Debian trixie's buildx 0.13.1: before the double-push fix (docker/buildx#3023, 0.22.0).
    Trixie,
    /// Debian sid's buildx 0.29.1.
    Sid,
}

impl Client {
    const ALL: [Client; 2] = [Client::Trixie, Client::Sid];

    fn slug(self) -> &'static str {
        match self {
            Client::Trixie => "trixie",
            Client::Sid => "sid",
        }
    }

    fn plugin(self) -> String {
        common::buildx_plugin(self.slug())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum BuildCommand {
    BuildxBuild,
    /// `docker build`, which the CLI hands to buildx when the plugin is there.
    DockerBuild,
    /// `docker buildx bake` of a bake file's `default` target, its tag given with `--set`.
    Bake,
    /// `docker buildx imagetools create` of an index from two single-platform images (no build: one
    /// engine is enough, and provenance is the sources').
    Imagetools,
    /// The same from one image manifest, which buildx wraps in an index of one.
    ImagetoolsOne,
    /// The same with `--prefer-index=false`: a copy of the one source as it is.
    ImagetoolsCopy,
}

impl BuildCommand {
    const ALL: [BuildCommand; 6] = [
        BuildCommand::BuildxBuild,
        BuildCommand::DockerBuild,
        BuildCommand::Bake,
        BuildCommand::Imagetools,
        BuildCommand::ImagetoolsOne,
        BuildCommand::ImagetoolsCopy,
    ];

    fn builds(self) -> bool {
        matches!(
            self,
            BuildCommand::BuildxBuild | BuildCommand::DockerBuild | BuildCommand::Bake
        )
    }

    fn slug(self) -> &'static str {
        match self {
            BuildCommand::BuildxBuild => "buildx",
            BuildCommand::DockerBuild => "build",
            BuildCommand::Bake => "bake",
            BuildCommand::Imagetools => "imagetools",
            BuildCommand::ImagetoolsOne => "imagetools-one",
            BuildCommand::ImagetoolsCopy => "imagetools-copy",
        }
    }

    fn label(self) -> &'static str {
        match self {
            BuildCommand::BuildxBuild => "`docker buildx build --push`",
            BuildCommand::DockerBuild => "`docker build --push`",
            BuildCommand::Bake => "`docker buildx bake --push`",
            BuildCommand::Imagetools => "`docker buildx imagetools create` (2 platforms)",
            BuildCommand::ImagetoolsOne => "`docker buildx imagetools create` (1 image)",
            BuildCommand::ImagetoolsCopy => {
                "`docker buildx imagetools create --prefer-index=false` (1 image)"
            }
        }
    }
}

/// The bake file of the bake cells: one target, built from the cell's context.
const BAKE_FILE: &str = "target \"default\" {\n  context = \".\"\n}\n";

/// One build-and-push: engine × buildx client × command × provenance × tag state, into an IMMUTABLE
/// repository. "Existing" is the same command run once before (a CI re-run of unchanged sources), while the
/// repository was still MUTABLE.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct BuildCell {
    engine: usize,
    client: Client,
    command: BuildCommand,
    provenance: bool,
    existing: bool,
}

impl BuildCell {
    fn provenance_label(&self) -> &'static str {
        if !self.command.builds() {
            "—"
        } else if self.provenance {
            "default"
        } else {
            "`--provenance=false`"
        }
    }

    fn state_label(&self) -> &'static str {
        if self.existing {
            "existing (same sources)"
        } else {
            "new"
        }
    }

    /// The command, pushing to `name`; imagetools create assembles from `sources`.
    fn argv(&self, name: &str, sources: &[String; 2]) -> Vec<String> {
        let words: &[&str] = match self.command {
            BuildCommand::BuildxBuild => &["docker", "buildx", "build", "--push"],
            BuildCommand::DockerBuild => &["docker", "build", "--push"],
            BuildCommand::Bake => &["docker", "buildx", "bake", "--push"],
            BuildCommand::Imagetools | BuildCommand::ImagetoolsOne => {
                &["docker", "buildx", "imagetools", "create"]
            }
            BuildCommand::ImagetoolsCopy => &[
                "docker",
                "buildx",
                "imagetools",
                "create",
                "--prefer-index=false",
            ],
        };
        let mut argv: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        if !self.provenance {
            argv.push("--provenance=false".into());
        }
        let tag = ["-t".to_string(), name.to_string()];
        match self.command {
            BuildCommand::Bake => argv.extend(["--set".into(), format!("*.tags={name}")]),
            BuildCommand::Imagetools => argv.extend(tag.into_iter().chain(sources.clone())),
            BuildCommand::ImagetoolsOne | BuildCommand::ImagetoolsCopy => {
                argv.extend(tag.into_iter().chain([sources[0].clone()]))
            }
            _ => argv.extend(tag.into_iter().chain([".".to_string()])),
        }
        argv
    }
}

/// A DOCKER_CONFIG per engine and client: that client's buildx as the CLI plugin, and the tests' logins.
struct ClientConfigs {
    dir: tempfile::TempDir,
    versions: BTreeMap<Client, String>,
}

impl ClientConfigs {
    fn new(engines: usize) -> ClientConfigs {
        let dir = tempfile::tempdir().unwrap();
        let mut versions = BTreeMap::new();
        for client in Client::ALL {
            let plugin = client.plugin();
            let out = std::process::Command::new(&plugin)
                .arg("version")
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            versions.insert(
                client,
                text.split_whitespace().nth(1).unwrap_or("?").to_string(),
            );
            for e in 0..engines {
                let cfg = dir.path().join(format!("{e}-{}", client.slug()));
                common::cli_config_in(&cfg, Some(&plugin));
            }
        }
        ClientConfigs { dir, versions }
    }

    fn path(&self, engine: usize, client: Client) -> String {
        self.dir
            .path()
            .join(format!("{engine}-{}", client.slug()))
            .display()
            .to_string()
    }
}

/// Every build cell. imagetools create does not build, so one engine and one provenance serve; a copy of an
/// image manifest is one plain PUT, whose re-run the build cells already cover.
fn build_cells(engines: usize) -> Vec<BuildCell> {
    let mut cells = Vec::new();
    for existing in [false, true] {
        for provenance in [true, false] {
            for command in BuildCommand::ALL {
                if !command.builds()
                    && (!provenance || (existing && command == BuildCommand::ImagetoolsCopy))
                {
                    continue;
                }
                for client in Client::ALL {
                    for engine in 0..engines {
                        if !command.builds() && engine > 0 {
                            continue;
                        }
                        cells.push(BuildCell {
                            engine,
                            client,
                            command,
                            provenance,
                            existing,
                        });
                    }
                }
            }
        }
    }
    cells
}

impl Matrix {
    /// The engines' images of the build cells: every one that built made one under its gate name.
    fn remove_build_images(&self, results: &[(BuildCell, Row, Agreement)]) {
        for (i, e) in self.engines.iter().enumerate() {
            let sources = self.sources.iter().flatten().filter(|_| i == 0).cloned();
            let names: Vec<String> = results
                .iter()
                .filter(|(c, ..)| c.engine == i && c.command.builds())
                .map(|(_, r, _)| format!("{}/{}:v1", self.gate.host(), r.repo))
                .chain(sources)
                .collect();
            let mut args = vec!["image", "rm", "--force"];
            args.extend(names.iter().map(String::as_str));
            let _ = e.engine.docker(&args, None);
        }
    }
}

/// The sources of the imagetools cells: two single-platform images (`FROM scratch`, so no emulation) that
/// the first engine built and pushed through the gate to a MUTABLE repository.
fn imagetools_sources(m: &Matrix) -> [String; 2] {
    let repo = format!("{}/build/sources", m.run);
    m.gate.create_repository(&repo, "MUTABLE", &[]);
    let engine = Engine {
        config: m.configs.path(0, Client::Sid),
        ..m.engines[0].engine.clone()
    };
    let ctx = tempfile::tempdir().unwrap();
    std::fs::write(ctx.path().join("Dockerfile"), "FROM scratch\nCOPY f /f\n").unwrap();
    ["amd64", "arm64"].map(|arch| {
        std::fs::write(ctx.path().join("f"), format!("{repo} {arch}")).unwrap();
        let name = format!("{}/{repo}:{arch}", m.gate.host());
        let platform = format!("linux/{arch}");
        engine.docker_ok(
            &[
                "buildx",
                "build",
                "--push",
                "--provenance=false",
                "--platform",
                &platform,
                "-t",
                &name,
                ".",
            ],
            Some(ctx.path()),
        );
        name
    })
}

/// Sets up the tag state, asks `ecr-doctor check -- <the command>`, then runs the command for real.
fn run_build_cell(m: &Matrix, cell: &BuildCell) -> Row {
    let e = &m.engines[cell.engine];
    let engine = Engine {
        config: m.configs.path(cell.engine, cell.client),
        ..e.engine.clone()
    };
    let sources = m.sources.clone().unwrap_or_default();
    let sources = &sources;
    let repo = m.repo(cell);
    let mut row = Row {
        repo: repo.clone(),
        ..Row::default()
    };
    let ctx = tempfile::tempdir().unwrap();
    std::fs::write(ctx.path().join("Dockerfile"), "FROM scratch\nCOPY f /f\n").unwrap();
    std::fs::write(ctx.path().join("f"), &repo).unwrap();
    std::fs::write(ctx.path().join("docker-bake.hcl"), BAKE_FILE).unwrap();
    let pushed = format!("{}/{repo}:v1", m.gate.host());
    let checked = common::ecr_ref(&repo, "v1");
    let run_command = |name: &str| {
        let argv = cell.argv(name, sources);
        let args: Vec<&str> = argv[1..].iter().map(String::as_str).collect();
        engine.docker(&args, Some(ctx.path()))
    };

    if cell.existing {
        m.gate.create_repository(&repo, "MUTABLE", &[]);
        let first = run_command(&pushed);
        if !first.status.success() {
            row.broken = Some(format!(
                "the first build-and-push failed: {}",
                last_line(&first.stderr)
            ));
            return row;
        }
        row.remote_before = m.gate.tag_digest(&repo, "v1");
        if row.remote_before.is_none() {
            row.broken = Some("the first build-and-push left no tag in moto".into());
            return row;
        }
        m.gate.set_tag_mutability(&repo, "IMMUTABLE", &[]);
    } else {
        m.gate.create_repository(&repo, "IMMUTABLE", &[]);
    }

    let t = Instant::now();
    let mut args = vec![
        "check".to_string(),
        "--format".into(),
        "json".into(),
        "--timeout".into(),
        "60".into(),
        "--".into(),
    ];
    args.extend(cell.argv(&checked, sources));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut cmd = common::doctor(Some(&engine), &args);
    cmd.env("DOCKER_CONFIG", &engine.config)
        .env("AWS_ENDPOINT_URL_ECR", &m.ecr.url)
        .current_dir(ctx.path());
    let run = common::run(cmd);
    row.doctor_time = t.elapsed();
    if !record_prediction(&mut row, &run) {
        return row;
    }

    m.push_for_real(&mut row, || run_command(&pushed));
    row
}

fn render_builds(m: &Matrix, results: &[(BuildCell, Row, Agreement)], took: Duration) -> String {
    let versions = &m.configs.versions;
    let mut md = String::new();
    let w = &mut md;
    let _ = writeln!(
        w,
        "\n## Build and push: `ecr-doctor check -- <the command>`\n"
    );
    let _ = writeln!(w, "{}", BUILD_INTRO.trim());
    let _ = writeln!(w, "\n| buildx client | version |\n|---|---|");
    for (c, v) in versions {
        let _ = writeln!(w, "| {} | {v} |", c.slug());
    }
    let count = |f: &dyn Fn(&Agreement) -> bool| results.iter().filter(|(_, _, a)| f(a)).count();
    let _ = writeln!(
        w,
        "\n{} cells in {:.0} s: {} both succeed, {} both fail, {} undecided by design (explained), \
         **{} predicted success where the push failed**, {} predicted failure where the push succeeded, {} broken.",
        results.len(),
        took.as_secs_f64(),
        count(&|a| *a == Agreement::BothSucceed),
        count(&|a| *a == Agreement::BothFail),
        count(&|a| *a == Agreement::Explained),
        count(&|a| *a == Agreement::MissedFailure),
        count(&|a| *a == Agreement::FalseAlarm),
        count(&|a| matches!(a, Agreement::Broken(_))),
    );
    for (i, e) in m.engines.iter().enumerate() {
        let store = if e.containerd {
            "containerd image store"
        } else {
            "classic image store"
        };
        let _ = writeln!(
            w,
            "\n### {} — Engine {}, {store}\n",
            e.engine.name, e.server
        );
        let _ = writeln!(
            w,
            "| buildx | command | provenance | tag `v1` (IMMUTABLE) | ecr-doctor | failing checks | the command | manifest PUTs by tag | agreement |\n|---|---|---|---|---|---|---|---|---|"
        );
        for (c, r, a) in results.iter().filter(|(c, ..)| c.engine == i) {
            let _ = writeln!(w, "{}", c.row(m, r, a));
        }
    }
    md
}

const BUILD_INTRO: &str = r#"Each cell runs a build-and-push the way pipelines do, with the engine's own docker CLI and a buildx
client from another distribution as its plugin (`$DOCKER_CONFIG/cli-plugins/docker-buildx`): Debian trixie's
0.13.1 (before docker/buildx#3023) and sid's 0.29.1. The commands: `docker buildx build --push -t REF .`,
`docker build --push -t REF .` and `docker buildx bake --push --set *.tags=REF` (a bake file with one target).
ecr-doctor is asked first, with the same command naming the ECR reference (`ecr-doctor check --format json --
docker buildx build --push -t ECR_REF .`, no image built), then the command runs for real, pushing to the gate. The repository is IMMUTABLE; *existing* means
the same command ran once before on unchanged sources while the repository was MUTABLE (a CI re-run).
`docker buildx imagetools create -t REF SRC…` runs on the first engine only (it builds nothing), from two
single-platform images already pushed, from one (buildx wraps it in an index of one), and from one with
`--prefer-index=false` (a copy as it is; buildx 0.15 and later).
*Undecided, explained*: the tag exists and the command makes a single manifest or an index, so whether the push is
accepted depends on it reproducing the existing digest exactly — known only after it runs."#;

// --- the gate as a server, for scripts/demo -------------------------------------------------------------

/// Runs the gate until the file named by `GATE_PORT_FILE` (where it writes its port) is removed.
/// `cargo test --test push_matrix -- --ignored --exact serve_gate --nocapture`
#[test]
#[ignore = "a server for scripts/demo, not a test"]
fn serve_gate() {
    let port_file =
        std::env::var("GATE_PORT_FILE").expect("GATE_PORT_FILE names where to write the port");
    let g = Gate::start(peers().registry(), peers().moto_url());
    g.log_puts(true);
    let tmp = format!("{port_file}.tmp");
    std::fs::write(&tmp, g.port().to_string()).unwrap();
    std::fs::rename(&tmp, &port_file).unwrap();
    eprintln!(
        "gate: listening on {} in front of the registry {}",
        g.host(),
        peers().registry()
    );
    while Path::new(&port_file).exists() {
        std::thread::sleep(Duration::from_millis(200));
    }
}
