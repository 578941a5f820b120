//! Harness for the integration tests: the real peers started by `scripts/peers` (moto's ECR API, dockerd
//! engines on both image stores, the distribution registry), and the built binary run against them.
#![allow(dead_code)] // each test binary uses its own part of the harness

pub mod ecr_extras;
pub mod ecr_registry;
pub mod iam_sim;
pub mod paging_ecr;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_sdk_ecr::types::{
    ImageTagMutability, ImageTagMutabilityExclusionFilter, ImageTagMutabilityExclusionFilterType,
};
use serde_json::Value;

/// The one-thread runtime a stand-in server of the tests runs on.
pub fn server_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// A listener on a free loopback port, bound on `rt`.
pub fn loopback(rt: &tokio::runtime::Runtime) -> tokio::net::TcpListener {
    rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap()
}

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

/// The peers' addresses, from `$ECR_DOCTOR_PEERS_DIR/env` (written by `scripts/peers start`).
pub struct Peers {
    vars: HashMap<String, String>,
}

/// The shared moto's URL when the peers run (the replay tests run without them).
fn running_moto() -> Option<String> {
    let dir = std::env::var("ECR_DOCTOR_PEERS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/peers"));
    dir.join("env")
        .exists()
        .then(|| peers().moto_url().to_string())
}

pub fn peers() -> &'static Peers {
    static PEERS: OnceLock<Peers> = OnceLock::new();
    PEERS.get_or_init(|| {
        let dir = std::env::var("ECR_DOCTOR_PEERS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/peers"));
        let text = std::fs::read_to_string(dir.join("env")).unwrap_or_else(|e| {
            panic!(
                "the test peers are not running ({}: {e}); run the tests with scripts/test",
                dir.display()
            )
        });
        let vars = text
            .lines()
            .filter_map(|l| l.strip_prefix("export ")?.split_once('='))
            .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
            .collect();
        Peers { vars }
    })
}

impl Peers {
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    pub fn moto_url(&self) -> &str {
        self.var("ECR_DOCTOR_TEST_MOTO_URL").expect("moto runs")
    }

    pub fn registry(&self) -> &str {
        self.var("ECR_DOCTOR_TEST_REGISTRY")
            .expect("the registry runs")
    }

    /// An engine by name (`old-containerd`, `old-classic`, `new-containerd`, `new-classic`); `None` when
    /// the distribution could not provide it.
    pub fn engine(&self, name: &str) -> Option<Engine> {
        let key = name.to_uppercase().replace('-', "_");
        let get = |what: &str| {
            self.var(&format!("ECR_DOCTOR_TEST_{key}_{what}"))
                .map(str::to_string)
        };
        Some(Engine {
            name: name.to_string(),
            host: get("HOST")?,
            cli: get("CLI")?,
            config: get("CONFIG")?,
            version: get("VERSION")?,
        })
    }

    pub fn required_engine(&self, name: &str) -> Engine {
        self.engine(name)
            .unwrap_or_else(|| panic!("engine {name} is not running: see scripts/peers status"))
    }
}

/// A real dockerd and its own docker CLI (with buildx).
#[derive(Debug, Clone)]
pub struct Engine {
    pub name: String,
    pub host: String,
    pub cli: String,
    pub config: String,
    pub version: String,
}

impl Engine {
    pub fn docker(&self, args: &[&str], dir: Option<&Path>) -> Output {
        let mut cmd = Command::new(&self.cli);
        cmd.args(args)
            .env("DOCKER_HOST", &self.host)
            .env("DOCKER_CONFIG", &self.config);
        if let Some(d) = dir {
            cmd.current_dir(d);
        }
        cmd.output().expect("docker CLI runs")
    }

    pub fn docker_ok(&self, args: &[&str], dir: Option<&Path>) -> String {
        let out = self.docker(args, dir);
        assert!(
            out.status.success(),
            "docker {args:?} on {}: {}",
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// `FROM scratch` + one file whose content makes the image unique; `extra` are build flags such as
    /// `--provenance=false`. Returns the image ID.
    pub fn build(&self, tag: &str, content: &str, extra: &[&str]) -> String {
        let dir = tempfile::tempdir().expect("tempdir");
        self.build_in(dir.path(), "FROM scratch\nCOPY f /f\n", tag, content, extra)
    }

    /// Like `build`, with a first layer of [`BIG_LAYER_MIB`] MiB of incompressible bytes (shared by every
    /// big image, so only the first build per engine pays for it): what users push, not a toy.
    pub fn build_big(&self, tag: &str, content: &str, extra: &[&str]) -> String {
        let dir = tempfile::tempdir().expect("tempdir");
        let big = dir.path().join("big");
        std::fs::hard_link(big_layer(), &big)
            .or_else(|_| std::fs::copy(big_layer(), &big).map(drop))
            .expect("the big layer reaches the build context");
        let dockerfile = "FROM scratch\nCOPY big /big\nCOPY f /f\n";
        self.build_in(dir.path(), dockerfile, tag, content, extra)
    }

    /// Builds `dockerfile` in `dir` with a file `f` holding `content`; returns the image ID.
    fn build_in(
        &self,
        dir: &Path,
        dockerfile: &str,
        tag: &str,
        content: &str,
        extra: &[&str],
    ) -> String {
        std::fs::write(dir.join("Dockerfile"), dockerfile).unwrap();
        std::fs::write(dir.join("f"), content).unwrap();
        let mut args = vec!["build", "-q", "-t", tag];
        args.extend_from_slice(extra);
        args.push(".");
        self.docker_ok(&args, Some(dir));
        self.image_id(tag)
    }

    /// A single-manifest image made without any build: `docker import`.
    pub fn import(&self, tag: &str, content: &str) -> String {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("f"), content).unwrap();
        let tar = dir.path().join("rootfs.tar");
        let ok = Command::new("tar")
            .args([
                "-C",
                dir.path().to_str().unwrap(),
                "-cf",
                tar.to_str().unwrap(),
                "f",
            ])
            .status()
            .unwrap();
        assert!(ok.success());
        self.docker_ok(&["import", tar.to_str().unwrap(), tag], None);
        self.image_id(tag)
    }

    pub fn image_id(&self, tag: &str) -> String {
        self.docker_ok(&["image", "inspect", "--format", "{{.Id}}", tag], None)
    }
}

/// The size of the big images' first layer.
pub const BIG_LAYER_MIB: usize = 300;

/// A file of [`BIG_LAYER_MIB`] MiB of random bytes, made once and kept in the peers' cache directory.
pub fn big_layer() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = Path::new(peers().var("ECR_DOCTOR_PEERS_DIR").expect("peers dir")).join("cache");
        let path = dir.join(format!("big-layer-{BIG_LAYER_MIB}m.bin"));
        let complete =
            std::fs::metadata(&path).is_ok_and(|m| m.len() == (BIG_LAYER_MIB << 20) as u64);
        if !complete {
            std::fs::create_dir_all(&dir).unwrap();
            write_random(&path);
        }
        path
    })
}

/// New random content for the big layer, so the next big build gets a layer with another digest.
pub fn regenerate_big_layer() {
    write_random(big_layer());
}

fn write_random(path: &Path) {
    use std::io::{Read, Write};
    // Test processes run in parallel: each writes its own file and renames it into place.
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let mut random = std::fs::File::open("/dev/urandom").unwrap();
    let mut out = std::fs::File::create(&tmp).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    for _ in 0..BIG_LAYER_MIB {
        random.read_exact(&mut buf).unwrap();
        out.write_all(&buf).unwrap();
    }
    std::fs::rename(&tmp, path).unwrap();
}

/// `imageTagMutabilityExclusionFilters` of WILDCARD filters; `None` for none (ECR rejects an empty list).
pub fn wildcard_filters(filters: &[&str]) -> Option<Vec<ImageTagMutabilityExclusionFilter>> {
    let filters: Vec<_> = filters
        .iter()
        .map(|f| {
            ImageTagMutabilityExclusionFilter::builder()
                .filter_type(ImageTagMutabilityExclusionFilterType::Wildcard)
                .filter(*f)
                .build()
                .expect("filter type and value are set")
        })
        .collect();
    (!filters.is_empty()).then_some(filters)
}

/// The ECR API of moto, through the real aws-sdk-ecr: the fixture side (it may create and put).
pub struct Moto {
    client: aws_sdk_ecr::Client,
    rt: tokio::runtime::Runtime,
}

impl Moto {
    pub fn new(url: &str) -> Moto {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let config = rt.block_on(
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .region(aws_config::Region::new(REGION))
                .endpoint_url(url)
                .credentials_provider(aws_sdk_ecr::config::Credentials::new(
                    "test", "test", None, None, "tests",
                ))
                .load(),
        );
        Moto {
            client: aws_sdk_ecr::Client::new(&config),
            rt,
        }
    }

    /// Creates a repository with a mutability mode and WILDCARD exclusion filters.
    pub fn create_repository(&self, name: &str, mode: &str, filters: &[&str]) {
        let req = self
            .client
            .create_repository()
            .repository_name(name)
            .image_tag_mutability(ImageTagMutability::from(mode))
            .set_image_tag_mutability_exclusion_filters(wildcard_filters(filters));
        self.rt
            .block_on(req.send())
            .unwrap_or_else(|e| panic!("create {name}: {e:?}"));
    }

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

pub fn moto() -> Moto {
    Moto::new(peers().moto_url())
}

/// A repository name no other test uses.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

pub fn ecr_ref(repo: &str, tag: &str) -> String {
    format!("{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{repo}:{tag}")
}

/// A new ECR repository in moto (a unique name from `prefix`), and the reference of its tag `v1`.
pub fn repository(prefix: &str, mode: &str) -> (String, String) {
    let repo = unique(prefix);
    moto().create_repository(&repo, mode, &[]);
    let r = ecr_ref(&repo, "v1");
    (repo, r)
}

/// One run of the built binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// The outcome of check `name` for `target` (None for environment checks).
    pub fn outcome(&self, name: &str, target: Option<&str>) -> String {
        let doc = self.json();
        let f = doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["check"] == name && f["target"].as_str() == target)
            .unwrap_or_else(|| panic!("no {name} finding for {target:?} in {}", self.stdout));
        f["outcome"].as_str().unwrap().to_string()
    }

    pub fn finding(&self, name: &str, target: Option<&str>) -> Value {
        self.json()["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["check"] == name && f["target"].as_str() == target)
            .cloned()
            .unwrap()
    }
}

/// The inline `docker login` token the tests' docker config holds: it must never appear in any output.
pub const FAKE_REGISTRY_TOKEN: &str = "QVdTOmVjci1kb2N0b3ItdGVzdC10b2tlbg==";

/// A docker config dir as `docker login` leaves it for the test registries' hosts (written fresh per
/// test process: a login older than 12 hours is reported as probably expired).
pub fn docker_config() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("docker-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let auths: serde_json::Map<String, Value> = ["us-east-1", "eu-west-1"]
            .iter()
            .map(|region| {
                let host = format!("{ACCOUNT}.dkr.ecr.{region}.amazonaws.com");
                (host, serde_json::json!({ "auth": FAKE_REGISTRY_TOKEN }))
            })
            .collect();
        std::fs::write(
            dir.join("config.json"),
            serde_json::json!({ "auths": auths }).to_string(),
        )
        .unwrap();
        dir
    })
}

/// A docker CLI config dir holding the tests' logins and, with `buildx`, that plugin binary as the CLI's
/// buildx (`cli-plugins/docker-buildx`): how a test pairs any engine's CLI with any buildx client.
pub fn cli_config_in(dir: &Path, buildx: Option<&str>) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::copy(docker_config().join("config.json"), dir.join("config.json")).unwrap();
    if let Some(plugin) = buildx {
        std::fs::create_dir_all(dir.join("cli-plugins")).unwrap();
        std::os::unix::fs::symlink(plugin, dir.join("cli-plugins/docker-buildx")).unwrap();
    }
}

/// The buildx of a Debian distribution the peers unpacked: `trixie` (0.13.1) or `sid` (0.29.1).
pub fn buildx_plugin(dist: &str) -> String {
    let var = format!("ECR_DOCTOR_TEST_BUILDX_{}", dist.to_uppercase());
    peers()
        .var(&var)
        .unwrap_or_else(|| panic!("{var} is not in the peers' env file"))
        .to_string()
}

/// The binary with a clean environment pointed at `engine` and moto. The registry hosts of the tests
/// (`ACCOUNT.dkr.ecr.REGION.amazonaws.com`) have no registry behind them here, so the login check is off;
/// tests/login.rs turns it on against its own registry stand-in.
pub fn doctor(engine: Option<&Engine>, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ecr-doctor"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .env("DOCKER_CONFIG", docker_config())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        // The tests' ECR hosts have no registry behind them: tests/login.rs turns the check back on.
        .env("ECR_DOCTOR_NO_LOGIN_CHECK", "true");
    // moto's STS answers GetCallerIdentity for any credentials, as STS does for valid ones.
    // IAM too (GetRole; moto has no SimulatePrincipalPolicy, so push-permission stays an advisory unknown
    // unless a test puts tests/common/iam_sim.rs in front).
    if let Some(url) = running_moto() {
        cmd.env("AWS_ENDPOINT_URL_STS", &url)
            .env("AWS_ENDPOINT_URL_IAM", url);
    }
    if let Some(e) = engine {
        cmd.env("DOCKER_HOST", &e.host);
    }
    cmd
}

pub fn run(mut cmd: Command) -> Run {
    let start = Instant::now();
    let out = cmd.output().expect("ecr-doctor runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).expect("UTF-8 on stdout"),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: start.elapsed(),
    }
}

/// `ecr-doctor check --facts FILE [extra…]` in the package root (the bundled facts paths are relative).
pub fn replay(file: &str, extra: &[&str]) -> Run {
    let mut args = vec!["check", "--facts", file];
    args.extend_from_slice(extra);
    let mut cmd = doctor(None, &args);
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    run(cmd)
}

/// `ecr-doctor check --format json REF…` against `engine`.
pub fn check(engine: &Engine, refs: &[&str], extra: &[&str]) -> Run {
    let mut args = vec!["check", "--format", "json"];
    args.extend_from_slice(extra);
    args.extend_from_slice(refs);
    let mut cmd = doctor(Some(engine), &args);
    cmd.env("AWS_ENDPOINT_URL_ECR", peers().moto_url());
    run(cmd)
}

/// A moto server of the test's own, with the request recorder on: for counting and classifying the
/// calls ecr-doctor makes, with no other test's traffic mixed in. Stopped on drop.
pub struct RecordingMoto {
    pub url: String,
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl RecordingMoto {
    pub fn start() -> RecordingMoto {
        Self::start_with(&[])
    }

    /// With extra environment for moto, e.g. `INITIAL_NO_AUTH_ACTION_COUNT` to enforce IAM after N calls.
    pub fn start_with(env: &[(&str, &str)]) -> RecordingMoto {
        let bin = peers()
            .var("ECR_DOCTOR_TEST_MOTO_BIN")
            .unwrap_or("moto_server")
            .to_string();
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(env.iter().copied())
            .env("MOTO_RECORDER_FILEPATH", dir.path().join("recording"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while http("GET", &format!("{url}/moto-api/data.json")).is_err() {
            assert!(Instant::now() < deadline, "moto did not start on {url}");
            std::thread::sleep(Duration::from_millis(100));
        }
        RecordingMoto {
            url,
            child,
            _dir: dir,
        }
    }

    pub fn start_recording(&self) {
        http(
            "POST",
            &format!("{}/moto-api/recorder/reset-recording", self.url),
        )
        .unwrap();
        http(
            "POST",
            &format!("{}/moto-api/recorder/start-recording", self.url),
        )
        .unwrap();
    }

    /// The action of every recorded request, e.g. `DescribeRepositories`: its `X-Amz-Target` (JSON
    /// protocols: ECR), else the `Action` of its form body (query protocols: STS, IAM).
    pub fn recorded_actions(&self) -> Vec<String> {
        http(
            "POST",
            &format!("{}/moto-api/recorder/stop-recording", self.url),
        )
        .unwrap();
        let body = http(
            "GET",
            &format!("{}/moto-api/recorder/download-recording", self.url),
        )
        .unwrap();
        body.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                if let Some(target) = v["headers"]["X-Amz-Target"].as_str() {
                    return target.rsplit('.').next().unwrap().to_string();
                }
                use base64::Engine;
                let body = v["body"].as_str().unwrap_or_default();
                let body = match v["body_encoded"].as_bool() {
                    Some(true) => base64::engine::general_purpose::STANDARD
                        .decode(body)
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .unwrap_or_default(),
                    _ => body.to_string(),
                };
                body.split('&')
                    .find_map(|p| p.strip_prefix("Action="))
                    .unwrap_or("(none)")
                    .to_string()
            })
            .collect()
    }
}

impl Drop for RecordingMoto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP answer: status, headers and body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {self:?}"))
    }
}

/// One HTTP/1.1 exchange on its own connection, over loopback: the tests' one HTTP client (the fixture
/// side needs no client library).
pub fn request(
    host: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Reply, String> {
    use std::fmt::Write as _;
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(host).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        let _ = write!(req, "{k}: {v}\r\n");
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    s.write_all(body).map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let raw = String::from_utf8_lossy(&raw);
    let (head, body) = raw.split_once("\r\n\r\n").ok_or("no HTTP response")?;
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("no HTTP status in {head:?}"))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Ok(Reply {
        status,
        headers,
        body: body.to_string(),
    })
}

/// The body of a 200 answer to `method url`.
pub fn http(method: &str, url: &str) -> Result<String, String> {
    http_with(method, url, &[], "")
}

/// `http` with extra headers and a body.
pub fn http_with(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<String, String> {
    let rest = url.strip_prefix("http://").ok_or("http only")?;
    let (host, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((rest, "/".into()));
    let reply = request(host, method, &path, headers, body.as_bytes())?;
    if reply.status != 200 {
        return Err(format!("HTTP {}: {}", reply.status, reply.body));
    }
    Ok(reply.body)
}

/// An IAM user of moto allowed only `actions`, through moto's IAM query API (fixture side). Returns its
/// access key and secret.
pub fn iam_user(moto: &RecordingMoto, actions: &[&str]) -> (String, String) {
    let call = |params: &str| {
        let auth = "AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0";
        let headers = [
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Authorization", auth),
        ];
        http_with(
            "POST",
            &format!("{}/", moto.url),
            &headers,
            &format!("{params}&Version=2010-05-08"),
        )
        .unwrap()
    };
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{ "Effect": "Allow", "Action": actions, "Resource": "*" }]
    })
    .to_string();
    let encoded: String = policy.bytes().map(|b| format!("%{b:02X}")).collect();
    call("Action=CreateUser&UserName=pusher");
    call(&format!(
        "Action=PutUserPolicy&UserName=pusher&PolicyName=push-only&PolicyDocument={encoded}"
    ));
    let xml = call("Action=CreateAccessKey&UserName=pusher");
    let tag = |name: &str| {
        xml.split(&format!("<{name}>"))
            .nth(1)
            .and_then(|r| r.split('<').next())
            .unwrap()
            .to_string()
    };
    (tag("AccessKeyId"), tag("SecretAccessKey"))
}
