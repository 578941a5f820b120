//! The release as users get it. The archive scripts/dist builds (contents, `--version`, a replay of the
//! founding case, the newest glibc symbol it needs) is served with its checksum, install.sh and
//! version.txt from a real HTTP server (python3 -m http.server on 127.0.0.1, laid out as GitHub serves a
//! release), then installed and run by install.sh, by the action's own steps (read from action.yml), and
//! by every CI snippet in docs/ci.md and the README's install line, extracted from the Markdown as written.
//!
//! Of a snippet the test changes only what points outside this machine: the GitHub release URL becomes
//! the local server's (also for install.sh, through ECR_DOCTOR_RELEASES_URL), the CI system's Docker
//! daemon is a peer engine, and IMAGE is a repository in moto. Lines that start with `docker ` (the
//! user's own build and push) are not run; the test builds IMAGE on the peer engine first. The action's
//! `uses:` steps (actions/cache) are GitHub's and are skipped: the test starts with an empty cache.

// The parts of tests/common this binary uses, and no others (docs/testing.md, "The harness").
mod common {
    pub mod buildx;
    pub mod canary;
    pub mod docker;
    pub mod engine;
    pub mod engines;
    pub mod filters;
    pub mod images;
    pub mod logins;
    pub mod moto;
    pub mod names;
    pub mod peers;
    pub use {buildx::*, canary::*, engine::*, filters::*, logins::*, moto::*, names::*, peers::*};
}

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use common::{Engine, buildx_plugin, cli_config_in, ecr_ref, moto, peers, unique};
use serde_yaml::Value as Yaml;
use sha2::{Digest, Sha256};
use tempfile::TempDir;

const VERSION: &str = env!("CARGO_PKG_VERSION");
const TARGET: &str = "x86_64-unknown-linux-gnu";
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const RELEASES: &str = "https://github.com/ecr-doctor/ecr-doctor/releases";
/// The glibc of RHEL/CentOS 7 and Amazon Linux 2, the oldest still met on CI runners and build hosts.
const GLIBC_BASELINE: (u32, u32) = (2, 17);

fn archive_name() -> String {
    format!("ecr-doctor-{VERSION}-{TARGET}")
}

/// Runs scripts/dist, unless scripts/test already did (`ECR_DOCTOR_DIST_BUILT`: a release build here takes
/// minutes of both cores, which the other tests need), and copies the release assets to `dest`, holding a
/// lock so that no other test process rewrites them meanwhile (nextest runs each test in its own process).
fn release_assets(dest: &Path) {
    let lock = fs::File::create(Path::new(env!("CARGO_TARGET_TMPDIR")).join("dist.lock")).unwrap();
    lock.lock().unwrap();
    if std::env::var_os("ECR_DOCTOR_DIST_BUILT").is_none() {
        let out = Command::new("scripts/dist")
            .current_dir(ROOT)
            // Set for this test by cargo from the debug build's build script; not the release build's.
            .env_remove("ECR_DOCTOR_COMMIT")
            .output()
            .expect("scripts/dist runs");
        assert!(
            out.status.success(),
            "scripts/dist failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    fs::create_dir_all(dest).unwrap();
    let assets = Path::new(ROOT).join(format!("target/dist/v{VERSION}"));
    for file in ["install.sh", "version.txt"]
        .into_iter()
        .map(String::from)
        .chain([".tar.gz", ".tar.gz.sha256"].map(|ext| format!("{}{ext}", archive_name())))
    {
        fs::copy(assets.join(&file), dest.join(&file))
            .unwrap_or_else(|e| panic!("{file} in {}: {e}", assets.display()));
    }
}

/// A real HTTP server on 127.0.0.1 serving `releases/download/vVERSION/…` and
/// `releases/latest/download/version.txt`, as GitHub does; stopped (by its PID) on drop.
struct Server {
    child: Child,
    url: String,
    root: TempDir,
}

impl Server {
    fn start() -> Server {
        let root = tempfile::tempdir().unwrap();
        let assets = root.path().join(format!("releases/download/v{VERSION}"));
        release_assets(&assets);
        let latest = root.path().join("releases/latest/download");
        fs::create_dir_all(&latest).unwrap();
        fs::copy(assets.join("version.txt"), latest.join("version.txt")).unwrap();
        let mut child = Command::new("python3")
            .args(["-u", "-m", "http.server", "--bind", "127.0.0.1", "0"])
            .current_dir(root.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs");
        // "Serving HTTP on 127.0.0.1 port 41235 (http://127.0.0.1:41235/) ..."
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .split_whitespace()
            .skip_while(|w| *w != "port")
            .nth(1)
            .unwrap_or_else(|| panic!("http.server said {line:?}"));
        let url = format!("http://127.0.0.1:{port}");
        Server { child, url, root }
    }

    fn releases(&self) -> String {
        format!("{}/releases", self.url)
    }

    /// Replaces the published checksum by another file's, as a tampered mirror would.
    fn tamper(&self) {
        let sha = self.root.path().join(format!(
            "releases/download/v{VERSION}/{}.tar.gz.sha256",
            archive_name()
        ));
        let other = hex(&Sha256::digest(b"not the archive"));
        fs::write(&sha, format!("{other}  {}.tar.gz\n", archive_name())).unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A clean environment: the system PATH and a HOME of the test's own, nothing of the developer's.
fn clean(cmd: &mut Command, home: &Path) {
    cmd.env_clear()
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .env("HOME", home);
}

/// The archive, unpacked.
fn unpacked() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    release_assets(dir.path());
    let tar = dir.path().join(format!("{}.tar.gz", archive_name()));
    let out = Command::new("tar")
        .arg("-xzf")
        .arg(&tar)
        .arg("-C")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let top = dir.path().join(archive_name());
    (dir, top)
}

fn git_commit() -> String {
    let out = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(ROOT)
        .output()
        .expect("git runs");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn archive_holds_binary_docs_and_a_matching_checksum() {
    let (dir, top) = unpacked();
    let mut files: Vec<String> = walk(&top)
        .iter()
        .map(|p| p.strip_prefix(&top).unwrap().display().to_string())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "CHANGELOG.md",
            "LICENSE-APACHE",
            "LICENSE-MIT",
            "README.md",
            "completions/_ecr-doctor",
            "completions/_ecr-doctor.ps1",
            "completions/ecr-doctor.bash",
            "completions/ecr-doctor.fish",
            "ecr-doctor",
            "man/ecr-doctor.1",
        ]
    );
    let man = fs::read_to_string(top.join("man/ecr-doctor.1")).unwrap();
    assert!(
        man.starts_with(".ie") || man.contains(".TH ecr-doctor"),
        "{man}"
    );
    let bash = fs::read_to_string(top.join("completions/ecr-doctor.bash")).unwrap();
    assert!(bash.contains("complete -F _ecr__doctor"), "{bash}");

    let name = format!("{}.tar.gz", archive_name());
    let published = fs::read_to_string(dir.path().join(format!("{name}.sha256"))).unwrap();
    let actual = hex(&Sha256::digest(fs::read(dir.path().join(&name)).unwrap()));
    assert_eq!(published, format!("{actual}  {name}\n"));
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .unwrap()
        .flat_map(|e| {
            let path = e.unwrap().path();
            if path.is_dir() {
                walk(&path)
            } else {
                vec![path]
            }
        })
        .collect()
}

#[test]
fn archived_binary_names_version_and_commit_and_replays_the_founding_case() {
    let (_dir, top) = unpacked();
    let bin = top.join("ecr-doctor");
    let out = Command::new(&bin).arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("ecr-doctor {VERSION} (commit {})\n", git_commit()),
        "{}",
        text(&out)
    );

    let out = Command::new(&bin)
        .args(["check", "--facts", "examples/founding-case.facts.json"])
        .args(["--color", "never"])
        .current_dir(ROOT)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("docker push will fail"),
        "{}",
        text(&out)
    );
}

#[test]
fn archived_binary_runs_on_glibc_2_17() {
    let (_dir, top) = unpacked();
    let out = Command::new("readelf")
        .args(["-V", "--wide"])
        .arg(top.join("ecr-doctor"))
        .output()
        .expect("readelf runs");
    assert!(out.status.success(), "{}", text(&out));
    let needed = String::from_utf8_lossy(&out.stdout)
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .filter_map(|w| w.strip_prefix("GLIBC_"))
        .filter_map(|v| {
            let mut parts = v.split('.').map(|p| p.parse::<u32>().ok());
            Some((parts.next()??, parts.next().flatten().unwrap_or(0)))
        })
        .max()
        .expect("the binary links glibc: it has GLIBC_ symbol versions");
    assert!(
        needed <= GLIBC_BASELINE,
        "the archived binary needs GLIBC_{}.{}, newer than the {}.{} baseline",
        needed.0,
        needed.1,
        GLIBC_BASELINE.0,
        GLIBC_BASELINE.1
    );
}

/// `sh install.sh ARGS…` from the server, with a clean environment.
fn install_sh(server: &Server, home: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new("sh");
    clean(&mut cmd, home);
    cmd.arg(Path::new(ROOT).join("install.sh"))
        .args(args)
        .env("ECR_DOCTOR_RELEASES_URL", server.releases())
        .output()
        .unwrap()
}

fn installed_version(bin: &Path) -> String {
    let out = Command::new(bin)
        .arg("--version")
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn install_sh_installs_a_pinned_version_and_the_latest() {
    let server = Server::start();
    let home = tempfile::tempdir().unwrap();
    let to = home.path().join("tools");
    let out = install_sh(
        &server,
        home.path(),
        &["--version", VERSION, "--to", to.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        installed_version(&to.join("ecr-doctor")).starts_with(&format!("ecr-doctor {VERSION} "))
    );

    // No version: the latest release's version.txt; no --to: ~/.local/bin.
    let out = install_sh(&server, home.path(), &[]);
    assert!(out.status.success(), "{}", text(&out));
    let bin = home.path().join(".local/bin/ecr-doctor");
    assert!(installed_version(&bin).starts_with(&format!("ecr-doctor {VERSION} ")));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not on PATH"),
        "{}",
        text(&out)
    );
}

#[test]
fn install_sh_refuses_a_tampered_checksum_and_installs_nothing() {
    let server = Server::start();
    server.tamper();
    let home = tempfile::tempdir().unwrap();
    let out = install_sh(&server, home.path(), &["--version", VERSION]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("checksum mismatch"), "{}", text(&out));
    assert!(!home.path().join(".local/bin").exists(), "{}", text(&out));
}

#[test]
fn install_sh_says_which_release_is_missing_and_rejects_bad_usage() {
    let server = Server::start();
    let home = tempfile::tempdir().unwrap();
    let out = install_sh(&server, home.path(), &["--version", "v99.0.0"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let expected = format!("no archive ecr-doctor-99.0.0-{TARGET}.tar.gz in release v99.0.0");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&expected),
        "{}",
        text(&out)
    );

    let out = install_sh(&server, home.path(), &["--versoin", "1"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown option '--versoin'"));
}

// --- docs/ci.md and README.md: the snippets as written -----------------------------------------------

/// The fenced block of `lang` that follows the heading `heading` in `file`.
fn block_after(file: &str, heading: &str, lang: &str) -> String {
    let doc = fs::read_to_string(Path::new(ROOT).join(file)).unwrap();
    let rest = &doc[doc
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("{file} has no heading {heading:?}"))..];
    let open = format!("```{lang}\n");
    let start = rest
        .find(&open)
        .unwrap_or_else(|| panic!("no {lang} block after {heading}"))
        + open.len();
    let end = start + rest[start..].find("```").unwrap();
    rest[start..end].to_string()
}

/// Every fenced block of `lang` in `file`.
fn blocks(file: &str, lang: &str) -> Vec<String> {
    let doc = fs::read_to_string(Path::new(ROOT).join(file)).unwrap();
    let open = format!("```{lang}\n");
    doc.split(&open)
        .skip(1)
        .map(|b| b[..b.find("```").unwrap()].to_string())
        .collect()
}

/// Points the snippet's release URL at the server, after checking it names this version's release.
fn localize(snippet: &str, server: &Server) -> String {
    assert!(
        snippet.contains(RELEASES),
        "the snippet no longer downloads from {RELEASES}:\n{snippet}"
    );
    snippet.replace(RELEASES, &server.releases())
}

/// What a snippet runs against: an image built on a peer engine (classic store: one image manifest),
/// pushed to a moto repository with mutable tags, with the tests' docker login and buildx 0.29.
struct Site {
    engine: Engine,
    image: String,
    home: TempDir,
    project: TempDir,
}

impl Site {
    fn new() -> Site {
        let engine = peers().required_engine("old-classic");
        let repo = unique("dist");
        moto().create_repository(&repo, "MUTABLE", &[]);
        let image = ecr_ref(&repo, "v1");
        engine.build(&image, "dist", &[]);
        let home = tempfile::tempdir().unwrap();
        cli_config_in(&home.path().join(".docker"), Some(&buildx_plugin("sid")));
        let project = tempfile::tempdir().unwrap();
        fs::write(
            project.path().join("Dockerfile"),
            "FROM scratch\nCOPY f /f\n",
        )
        .unwrap();
        fs::write(project.path().join("f"), "dist").unwrap();
        Site {
            engine,
            image,
            home,
            project,
        }
    }

    /// `shell args…` in the project folder, with the CI job's variables and this site's peers.
    fn command(&self, server: &Server, shell: &[&str], vars: &HashMap<String, String>) -> Command {
        let mut cmd = Command::new(shell[0]);
        clean(&mut cmd, self.home.path());
        cmd.args(&shell[1..])
            .current_dir(self.project.path())
            .envs(vars)
            .env("IMAGE", &self.image)
            .env("DOCKER_HOST", &self.engine.host)
            .env("ECR_DOCTOR_RELEASES_URL", server.releases())
            .env("AWS_ENDPOINT_URL_ECR", peers().moto_url())
            // A CI job reaches STS, IAM and the registry; here moto stands in for STS and IAM, and the test
            // registry host has no registry behind it (tests/login.rs checks the login against a stand-in).
            .env("AWS_ENDPOINT_URL_STS", peers().moto_url())
            .env("AWS_ENDPOINT_URL_IAM", peers().moto_url())
            .env("ECR_DOCTOR_NO_LOGIN_CHECK", "true")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true");
        cmd
    }

    /// The run passed (exit 0) and wrote its JUnit report at `report`, about IMAGE.
    fn assert_passed(&self, out: &Output, report: &str) {
        assert_eq!(out.status.code(), Some(0), "{}", text(out));
        let xml = fs::read_to_string(self.project.path().join(report))
            .unwrap_or_else(|e| panic!("{report}: {e}\n{}", text(out)));
        assert!(
            xml.contains("<testsuites") && xml.contains(&self.image),
            "{xml}"
        );
        let bin = self.home.path().join(".local/bin/ecr-doctor");
        assert!(installed_version(&bin).starts_with(&format!("ecr-doctor {VERSION} ")));
    }
}

fn yaml(text: &str) -> Yaml {
    serde_yaml::from_str(text).unwrap_or_else(|e| panic!("not YAML ({e}):\n{text}"))
}

fn strings(v: &Yaml) -> Vec<String> {
    v.as_sequence()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn vars(map: &Yaml) -> HashMap<String, String> {
    map.as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str().unwrap().into(), v.as_str().unwrap().into()))
        .collect()
}

/// The lines a snippet runs, less the user's own `docker` build and push.
fn ours(lines: &[String]) -> String {
    lines
        .iter()
        .filter(|l| !l.trim_start().starts_with("docker "))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn readme_install_line_installs_the_release() {
    let server = Server::start();
    let site = Site::new();
    let line = block_after("README.md", "## Install", "sh");
    let out = site
        .command(
            &server,
            &["sh", "-ec", &localize(&line, &server)],
            &HashMap::new(),
        )
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let bin = site.home.path().join(".local/bin/ecr-doctor");
    assert!(installed_version(&bin).starts_with(&format!("ecr-doctor {VERSION} ")));
}

#[test]
fn gitlab_snippet_installs_and_passes() {
    let server = Server::start();
    let site = Site::new();
    let doc = yaml(&localize(
        &block_after("docs/ci.md", "### GitLab CI", "yaml"),
        &server,
    ));
    let job = &doc["build-and-push"];
    let mut variables = vars(&job["variables"]);
    // The dind service's address there; a peer engine here.
    assert_eq!(
        variables.remove("DOCKER_HOST").as_deref(),
        Some("tcp://docker:2375")
    );
    let mut lines = strings(&job["before_script"]);
    lines.extend(strings(&job["script"]));
    // GitLab runs before_script and script in one shell: sh in the docker:28 image, whose busybox has
    // wget but no curl; so has this PATH.
    let tools = site.home.path().join("alpine-tools");
    fs::create_dir_all(&tools).unwrap();
    for tool in [
        "sh",
        "wget",
        "tar",
        "gzip",
        "sha256sum",
        "cut",
        "tr",
        "mkdir",
        "cp",
        "chmod",
        "mv",
        "mktemp",
        "rm",
        "uname",
        "ls",
        "grep",
        "cat",
    ] {
        let path = ["/usr/bin", "/bin"]
            .iter()
            .map(|d| Path::new(d).join(tool))
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("{tool} is not installed"));
        std::os::unix::fs::symlink(path, tools.join(tool)).unwrap();
    }
    let out = site
        .command(&server, &["sh", "-ec", &ours(&lines)], &variables)
        .env("PATH", &tools)
        .output()
        .unwrap();
    site.assert_passed(&out, "ecr-doctor.xml");
}

#[test]
fn circleci_snippet_installs_and_passes() {
    let server = Server::start();
    let site = Site::new();
    let doc = yaml(&localize(
        &block_after("docs/ci.md", "### CircleCI", "yaml"),
        &server,
    ));
    let job = &doc["jobs"]["preflight"];
    let variables = vars(&job["environment"]);
    // CircleCI runs each step in `/bin/bash -eo pipefail`, which sources $BASH_ENV first.
    let bash_env = site.home.path().join("bash_env");
    fs::write(&bash_env, "").unwrap();
    let mut last = None;
    for step in job["steps"].as_sequence().unwrap() {
        let Some(run) = step.get("run") else { continue };
        let command = run.get("command").unwrap_or(run).as_str().unwrap();
        if command.starts_with("docker ") {
            continue;
        }
        let out = site
            .command(
                &server,
                &["bash", "-eo", "pipefail", "-c", command],
                &variables,
            )
            .env("BASH_ENV", &bash_env)
            .output()
            .unwrap();
        assert!(out.status.success(), "{command}\n{}", text(&out));
        last = Some(out);
    }
    site.assert_passed(
        &last.expect("the snippet runs ecr-doctor"),
        "reports/ecr-doctor.xml",
    );
}

#[test]
fn buildkite_snippet_installs_and_passes() {
    let server = Server::start();
    let site = Site::new();
    let doc = yaml(&localize(
        &block_after("docs/ci.md", "### Buildkite", "yaml"),
        &server,
    ));
    let step = &doc["steps"][0];
    // The upload's interpolation: $$ is a literal $ for the step's shell.
    let lines: Vec<String> = strings(&step["commands"])
        .iter()
        .map(|l| l.replace("$$", "$"))
        .collect();
    let out = site
        .command(
            &server,
            &["bash", "-ec", &ours(&lines)],
            &vars(&step["env"]),
        )
        .output()
        .unwrap();
    site.assert_passed(&out, "ecr-doctor.xml");
}

#[test]
fn jenkins_snippet_installs_and_passes() {
    let server = Server::start();
    let site = Site::new();
    let pipeline = localize(&block_after("docs/ci.md", "### Jenkins", "groovy"), &server);
    let script = pipeline
        .split("sh '''")
        .nth(1)
        .and_then(|s| s.split("'''").next())
        .expect("a sh ''' … ''' step");
    // environment { KEY = 'literal' } (IMAGE, a Groovy string of the user's, is the site's).
    let variables = pipeline
        .lines()
        .filter_map(|l| l.trim().split_once(" = '"))
        .map(|(k, v)| (k.to_string(), v.trim_end_matches('\'').to_string()))
        .collect();
    let lines: Vec<String> = script.lines().map(String::from).collect();
    let out = site
        .command(&server, &["sh", "-xec", &ours(&lines)], &variables)
        .output()
        .unwrap();
    site.assert_passed(&out, "ecr-doctor.xml");
}

// --- action.yml: its steps run as GitHub runs them ----------------------------------------------------

/// One use of the action, its steps run as a GitHub runner runs a composite action's: `${{ … }}` replaced
/// in `env:` and `if:`, `bash --noprofile --norc -eo pipefail` on the script, GITHUB_OUTPUT and
/// GITHUB_PATH files, and the step outputs passed on.
struct ActionRun<'a> {
    site: &'a Site,
    server: &'a Server,
    action_ref: String,
    inputs: HashMap<String, String>,
    outputs: HashMap<String, HashMap<String, String>>,
    runner: TempDir,
}

impl<'a> ActionRun<'a> {
    fn new(site: &'a Site, server: &'a Server, uses: &str, with: HashMap<String, String>) -> Self {
        let action_ref = uses
            .strip_prefix("ecr-doctor/ecr-doctor@")
            .expect("uses: ecr-doctor/ecr-doctor@REF")
            .to_string();
        let runner = tempfile::tempdir().unwrap();
        ActionRun {
            site,
            server,
            action_ref,
            inputs: with,
            outputs: HashMap::new(),
            runner,
        }
    }

    fn value(&self, expr: &str, action: &Yaml) -> String {
        let expr = expr.trim();
        let parts: Vec<&str> = expr.split('.').collect();
        match parts.as_slice() {
            ["inputs", name] => self.inputs.get(*name).cloned().unwrap_or_else(|| {
                action["inputs"][*name]["default"]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            }),
            ["github", "action_ref"] => self.action_ref.clone(),
            ["runner", "tool_cache"] => self.runner.path().join("tool-cache").display().to_string(),
            ["steps", id, "outputs", name] => self
                .outputs
                .get(*id)
                .and_then(|o| o.get(*name))
                .cloned()
                .unwrap_or_default(),
            _ => panic!("the test does not know ${{{{ {expr} }}}}: teach ActionRun::value"),
        }
    }

    fn expand(&self, text: &str, action: &Yaml) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${{") {
            let end = start + rest[start..].find("}}").unwrap();
            out.push_str(&rest[..start]);
            out.push_str(&self.value(&rest[start + 3..end], action));
            rest = &rest[end + 2..];
        }
        out + rest
    }

    /// `if:` as the action writes them: `EXPR == 'literal'` or `EXPR != 'literal'`.
    fn condition(&self, cond: &str, action: &Yaml) -> bool {
        let (expr, equal, lit) = if let Some((e, l)) = cond.split_once(" == ") {
            (e, true, l)
        } else if let Some((e, l)) = cond.split_once(" != ") {
            (e, false, l)
        } else {
            panic!("the test does not know the condition {cond:?}")
        };
        (self.value(expr, action) == lit.trim_matches('\'')) == equal
    }

    fn run(&mut self) -> Output {
        self.run_until(None)
    }

    /// Runs the action's steps, up to the first that fails or the one with id `last`; the last step's
    /// exit code and output.
    fn run_until(&mut self, last: Option<&str>) -> Output {
        let action = yaml(&fs::read_to_string(Path::new(ROOT).join("action.yml")).unwrap());
        let temp = self.runner.path().join("temp");
        fs::create_dir_all(&temp).unwrap();
        let mut ran = None;
        for step in action["runs"]["steps"].as_sequence().unwrap() {
            if let Some(cond) = step.get("if").and_then(Yaml::as_str)
                && !self.condition(cond, &action)
            {
                continue;
            }
            let Some(script) = step.get("run").and_then(Yaml::as_str) else {
                assert!(step["uses"].as_str().unwrap().starts_with("actions/cache@"));
                continue;
            };
            assert_eq!(step["shell"].as_str(), Some("bash"));
            let script_file = temp.join("step.sh");
            fs::write(&script_file, script).unwrap();
            let output_file = temp.join("output");
            fs::write(&output_file, "").unwrap();
            let env: HashMap<String, String> = step
                .get("env")
                .map(vars)
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, self.expand(&v, &action)))
                .collect();
            let out = self
                .site
                .command(
                    self.server,
                    &["bash", "--noprofile", "--norc", "-eo", "pipefail"],
                    &env,
                )
                .arg(&script_file)
                .env("GITHUB_ACTION_PATH", ROOT)
                .env("GITHUB_OUTPUT", &output_file)
                .env("GITHUB_PATH", temp.join("path"))
                .env("GITHUB_STEP_SUMMARY", temp.join("summary.md"))
                .env("RUNNER_TEMP", &temp)
                .output()
                .unwrap();
            let id = step.get("id").and_then(Yaml::as_str);
            if let Some(id) = id {
                let outputs = fs::read_to_string(&output_file).unwrap();
                let outputs = outputs
                    .lines()
                    .filter_map(|l| l.split_once('='))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                self.outputs.insert(id.to_string(), outputs);
            }
            let stop = !out.status.success() || (id.is_some() && id == last);
            ran = Some(out);
            if stop {
                break;
            }
        }
        ran.unwrap()
    }

    fn summary(&self) -> String {
        fs::read_to_string(self.runner.path().join("temp/summary.md")).unwrap_or_default()
    }

    fn installed(&self) -> PathBuf {
        PathBuf::from(&self.outputs["find"]["dir"]).join("bin/ecr-doctor")
    }
}

/// Every `uses: ecr-doctor/ecr-doctor@…` step in docs/ci.md: its `uses` and its `with`.
fn action_uses_in_docs() -> Vec<(String, HashMap<String, String>)> {
    let mut found = Vec::new();
    for block in blocks("docs/ci.md", "yaml") {
        fn walk(v: &Yaml, found: &mut Vec<(String, HashMap<String, String>)>) {
            match v {
                Yaml::Sequence(s) => s.iter().for_each(|v| walk(v, found)),
                Yaml::Mapping(m) => {
                    if let Some(uses) = m.get("uses").and_then(Yaml::as_str)
                        && uses.starts_with("ecr-doctor/ecr-doctor@")
                    {
                        let with = m.get("with").map(vars).unwrap_or_default();
                        found.push((uses.to_string(), with));
                    }
                    m.values().for_each(|v| walk(v, found));
                }
                _ => {}
            }
        }
        // The step fragments are indented as in a workflow; YAML wants them at the margin.
        let indent = block
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.len() - l.trim_start().len())
            .min()
            .unwrap_or(0);
        let dedented: String = block
            .lines()
            .map(|l| format!("{}\n", l.get(indent..).unwrap_or("")))
            .collect();
        walk(&yaml(&dedented), &mut found);
    }
    found
}

/// `${{ env.IMAGE }}` and the like in a snippet's `with:`, as the workflow around it would set them.
fn workflow_expressions(with: &str, site: &Site) -> String {
    with.replace("${{ env.IMAGE }}", &site.image)
        .replace("${{ env.CACHE }}", &format!("{}-cache", site.image))
        .replace("${{ steps.buildx.outputs.name }}", "ci")
}

#[test]
fn action_snippets_download_verify_and_run() {
    let server = Server::start();
    let site = Site::new();
    // The builder docker/setup-buildx-action makes, as files (`create` without --bootstrap starts
    // nothing: its BuildKit image cannot be pulled here).
    let engine = Engine {
        config: site.home.path().join(".docker").display().to_string(),
        ..site.engine.clone()
    };
    engine.docker_ok(
        &[
            "buildx",
            "create",
            "--name",
            "ci",
            "--driver",
            "docker-container",
        ],
        None,
    );
    let uses = action_uses_in_docs();
    assert_eq!(uses.len(), 2, "docs/ci.md uses the action twice: {uses:?}");
    for (uses, with) in uses {
        let with = with
            .into_iter()
            .map(|(k, v)| (k, workflow_expressions(&v, &site)))
            .collect();
        let mut run = ActionRun::new(&site, &server, &uses, with);
        let out = run.run();
        assert_eq!(
            run.outputs["install"].get("fallback"),
            None,
            "{}",
            text(&out)
        );
        assert!(installed_version(&run.installed()).starts_with(&format!("ecr-doctor {VERSION} ")));
        // Mutable tags, an image of one manifest, a docker-container builder: the push would succeed.
        assert_eq!(out.status.code(), Some(0), "{uses}: {}", text(&out));
        if let Some(file) = run.inputs.get("output") {
            let sarif = fs::read_to_string(site.project.path().join(file)).unwrap();
            let sarif: serde_json::Value = serde_json::from_str(&sarif).unwrap();
            assert_eq!(sarif["version"], "2.1.0", "{sarif}");
            assert!(sarif.to_string().contains(&site.image), "{sarif}");
        } else {
            // format github: annotations, and the step summary; the --cache-to spec, quoted in the
            // snippet, was read as one word (a second checked reference, the cache).
            let summary = run.summary();
            assert!(
                summary.contains("builder 'ci': docker-container driver"),
                "{summary}"
            );
            assert!(
                summary.contains("an image-manifest cache to a mutable tag"),
                "{summary}"
            );
            assert!(summary.contains("**✅ ok**"), "{summary}");
        }
    }
}

#[test]
fn action_refuses_a_tampered_checksum() {
    let server = Server::start();
    server.tamper();
    let site = Site::new();
    let with = HashMap::from([("refs".to_string(), site.image.clone())]);
    let mut run = ActionRun::new(
        &site,
        &server,
        &format!("ecr-doctor/ecr-doctor@v{VERSION}"),
        with,
    );
    let out = run.run();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("checksum mismatch"),
        "{}",
        text(&out)
    );
    assert!(!run.installed().exists());
}

#[test]
fn action_compiles_only_when_there_is_no_release() {
    let server = Server::start();
    let site = Site::new();
    // A tag with no release, and a branch: both compile (the compile step itself, minutes of cargo, is
    // not run here); neither downloads.
    for uses in [
        "ecr-doctor/ecr-doctor@v99.0.0",
        "ecr-doctor/ecr-doctor@main",
    ] {
        let mut run = ActionRun::new(&site, &server, uses, HashMap::new());
        let out = run.run_until(Some("install"));
        assert!(out.status.success(), "{uses}: {}", text(&out));
        let fallback = run.outputs["install"].get("fallback").map(String::as_str);
        assert_eq!(fallback, Some("true"), "{uses}: {}", text(&out));
        assert!(!run.installed().exists());
    }
}

#[test]
fn action_command_input_is_split_like_the_shell_without_expanding() {
    let server = Server::start();
    let site = Site::new();
    let command = format!(
        "docker buildx build --push -t '{}' --label \"note=two words, $HOME and $(touch pwned)\" .",
        site.image
    );
    let with = HashMap::from([
        ("command".to_string(), command),
        ("format".to_string(), "json".to_string()),
        ("output".to_string(), "report.json".to_string()),
    ]);
    let mut run = ActionRun::new(
        &site,
        &server,
        &format!("ecr-doctor/ecr-doctor@v{VERSION}"),
        with,
    );
    let out = run.run();
    assert!(
        matches!(out.status.code(), Some(0 | 1 | 3)),
        "{}",
        text(&out)
    );
    let report = fs::read_to_string(site.project.path().join("report.json")).unwrap();
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    let words: Vec<&str> = report["command"]["argv"]
        .as_array()
        .unwrap_or_else(|| panic!("no command in {report}"))
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert_eq!(
        words,
        [
            "docker",
            "buildx",
            "build",
            "--push",
            "-t",
            &site.image,
            "--label",
            "note=two words, $HOME and $(touch pwned)",
            "."
        ]
    );
    assert!(!site.project.path().join("pwned").exists());
}

// --- workflows: actionlint ----------------------------------------------------------------------------

/// actionlint (scripts/lib/tools.sh installs it) on every `*.yml` in `dir`/.github/workflows.
fn actionlint(dir: &Path) -> Output {
    let tool = Command::new("bash")
        .args([
            "-c",
            "source scripts/lib/tools.sh && tools_actionlint && echo \"$ACTIONLINT\"",
        ])
        .current_dir(ROOT)
        .output()
        .unwrap();
    assert!(tool.status.success(), "{}", text(&tool));
    let tool = String::from_utf8(tool.stdout).unwrap();
    let pattern = dir.join(".github/workflows/*.yml");
    Command::new(tool.trim())
        .arg(pattern.to_str().unwrap())
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn workflows_and_the_github_snippets_pass_actionlint() {
    let dir = tempfile::tempdir().unwrap();
    let workflows = dir.path().join(".github/workflows");
    fs::create_dir_all(&workflows).unwrap();
    for entry in fs::read_dir(Path::new(ROOT).join(".github/workflows")).unwrap() {
        let path = entry.unwrap().path();
        fs::copy(&path, workflows.join(path.file_name().unwrap())).unwrap();
    }
    // The snippets, in a workflow as a user pastes them: the whole job, and the steps in a job that sets
    // the variables they read.
    let job = block_after("docs/ci.md", "## GitHub Actions", "yaml");
    fs::write(
        workflows.join("snippet-job.yml"),
        format!("on: push\n{job}"),
    )
    .unwrap();
    let steps = block_after("docs/ci.md", "### With docker/build-push-action", "yaml");
    let wrapped = format!(
        "on: push\njobs:\n  image:\n    runs-on: ubuntu-latest\n    env: {{ IMAGE: i, CACHE: c }}\n    steps:\n{steps}"
    );
    fs::write(workflows.join("snippet-steps.yml"), wrapped).unwrap();
    let out = actionlint(dir.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        stdout.contains("Checking 3 workflow file(s)"),
        "{}",
        text(&out)
    );

    // The linter finds what it should: an undefined step output, a misspelled input.
    fs::write(
        workflows.join("broken.yml"),
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n        with: { fetch-deph: 1 }\n      - run: echo \"${{ steps.nope.outputs.x }}\"\n",
    )
    .unwrap();
    let out = actionlint(dir.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        stdout.contains("fetch-deph") && stdout.contains("\"nope\""),
        "{}",
        text(&out)
    );
}

#[test]
fn action_and_workflow_scripts_pass_shellcheck() {
    let mut files = vec![Path::new(ROOT).join("action.yml")];
    for entry in fs::read_dir(Path::new(ROOT).join(".github/workflows")).unwrap() {
        files.push(entry.unwrap().path());
    }
    let mut scripts = 0;
    for file in files {
        fn runs(v: &Yaml, out: &mut Vec<String>) {
            match v {
                Yaml::Sequence(s) => s.iter().for_each(|v| runs(v, out)),
                Yaml::Mapping(m) => {
                    if let Some(run) = m.get("run").and_then(Yaml::as_str) {
                        out.push(run.to_string());
                    }
                    m.values().for_each(|v| runs(v, out));
                }
                _ => {}
            }
        }
        let mut found = Vec::new();
        runs(&yaml(&fs::read_to_string(&file).unwrap()), &mut found);
        for script in found {
            // An expression is a word the runner fills in before bash sees the script.
            let script = script.replace("${{", "__").replace("}}", "__");
            let mut child = Command::new("shellcheck")
                .args(["--shell=bash", "--severity=warning", "-"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("shellcheck runs (scripts/peers installs it)");
            std::io::Write::write_all(&mut child.stdin.take().unwrap(), script.as_bytes()).unwrap();
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{}:\n{script}\n{}",
                file.display(),
                text(&out)
            );
            scripts += 1;
        }
    }
    assert!(scripts >= 10, "only {scripts} run: scripts found");
}

#[test]
fn binstall_metadata_names_the_published_archive_and_its_binary() {
    let manifest: toml::Value =
        toml::from_str(&fs::read_to_string(Path::new(ROOT).join("Cargo.toml")).unwrap()).unwrap();
    let repo = manifest["workspace"]["package"]["repository"]
        .as_str()
        .unwrap();
    let meta = &manifest["package"]["metadata"]["binstall"];
    // cargo-binstall's placeholders, for this target.
    let fill = |key: &str| {
        meta[key]
            .as_str()
            .unwrap()
            .replace("{ repo }", repo)
            .replace("{ name }", "ecr-doctor")
            .replace("{ version }", VERSION)
            .replace("{ target }", TARGET)
            .replace("{ bin }", "ecr-doctor")
            .replace("{ binary-ext }", "")
    };
    assert_eq!(
        fill("pkg-url"),
        format!("{RELEASES}/download/v{VERSION}/{}.tar.gz", archive_name())
    );
    assert_eq!(meta["pkg-fmt"].as_str(), Some("tgz"));
    let (_dir, top) = unpacked();
    let bin = top.parent().unwrap().join(fill("bin-dir"));
    assert!(installed_version(&bin).starts_with(&format!("ecr-doctor {VERSION} ")));
}
