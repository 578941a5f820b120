//! `ecr-doctor check -- docker compose push …` against the real Compose plugin (Debian's, unpacked by
//! scripts/peers): what ecr-doctor plans to check is what Compose itself resolves — the files, their override,
//! `.env` and the shell, profiles, the services named — and the verdict is the `docker push` path's.

// The parts of tests/common this binary uses, and no others (docs/testing.md, "The harness").
mod common {
    pub mod canary;
    pub mod cli;
    pub mod docker;
    pub mod engine;
    pub mod engines;
    pub mod filters;
    pub mod finding;
    pub mod images;
    pub mod json;
    pub mod logins;
    pub mod moto;
    pub mod names;
    pub mod outcome;
    pub mod peers;
    pub mod registry;
    pub mod repository;
    pub mod run;
    pub use {
        canary::*, cli::*, engine::*, filters::*, logins::*, moto::*, names::*, peers::*,
        repository::*, run::*,
    };
}
mod gate;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use common::*;
use gate::Gate;

/// A project: a compose file with an override, a `.env`, a service behind a profile, one with extra
/// `build.tags`, one that is not built (Compose does not push it), one pushed elsewhere.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let registry = format!("{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com");
    let files = [
        (
            "compose.yaml",
            "services:\n\
             \x20 api:\n\
             \x20   build: .\n\
             \x20   image: ${REGISTRY}/compose-api:${TAG:-dev}\n\
             \x20   depends_on: [cache]\n\
             \x20 worker:\n\
             \x20   build:\n\
             \x20     context: .\n\
             \x20     tags: [\"${REGISTRY}/compose-worker:extra\"]\n\
             \x20   image: ${REGISTRY}/compose-worker:${TAG:-dev}\n\
             \x20   profiles: [jobs]\n\
             \x20 cache:\n\
             \x20   build: .\n\
             \x20   image: ghcr.io/acme/cache:$TAG\n\
             \x20 db:\n\
             \x20   image: postgres:16\n",
        ),
        (
            "compose.override.yaml",
            "services:\n  api:\n    image: ${REGISTRY}/compose-api:${TAG:-dev}-override\n",
        ),
        (".env", &format!("REGISTRY={registry}\nTAG=from-dotenv\n")),
        ("Dockerfile", "FROM scratch\n"),
    ];
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

/// What Compose pushes, from Compose itself: `docker compose [GLOBAL] config [SERVICE…]` resolves the
/// project, and push takes every named (else every enabled) service with both `build` and `image`: its image
/// and `build.tags`.
fn compose_pushes(
    plugin: &str,
    dir: &Path,
    env: &[(&str, &str)],
    global: &[&str],
    services: &[&str],
) -> BTreeSet<String> {
    let mut args = global.to_vec();
    args.extend(["config", "--format", "json"]);
    args.extend_from_slice(services);
    let config: serde_json::Value =
        serde_json::from_slice(&compose_says(plugin, dir, env, &args)).unwrap();
    let mut pushes = BTreeSet::new();
    for (name, service) in config["services"].as_object().unwrap() {
        if !services.is_empty() && !services.contains(&name.as_str()) {
            continue; // config adds what the named services depend on; push does not.
        }
        let (Some(_), Some(image)) = (service.get("build"), service["image"].as_str()) else {
            continue;
        };
        pushes.insert(image.to_string());
        for tag in service["build"]["tags"].as_array().into_iter().flatten() {
            pushes.insert(tag.as_str().unwrap().to_string());
        }
    }
    pushes
}

/// ecr-doctor's JSON report of `check --offline -- ARGV` in `dir` (no engine): the command as it reads it.
fn report(dir: &Path, env: &[(&str, &str)], argv: &[&str]) -> serde_json::Value {
    let mut args = vec!["check", "--format", "json", "--offline", "--"];
    args.extend_from_slice(argv);
    let mut cmd = doctor(None, &args);
    cmd.current_dir(dir)
        .env("DOCKER_HOST", format!("unix://{}/no.sock", dir.display()));
    cmd.envs(env.iter().copied());
    let r = run(cmd);
    assert_ne!(r.code, 2, "{argv:?}: {}", r.stderr);
    r.json()
}

/// What the Compose plugin prints for `args` in `dir`, with only `env` of the variables the projects read.
fn compose_says(plugin: &str, dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Vec<u8> {
    let out = Command::new(plugin)
        .args(args)
        .current_dir(dir)
        .env_remove("COMPOSE_PROFILES")
        .env_remove("TAG")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// What ecr-doctor plans to check for the same command: its targets and the references it lists as not
/// checked (not ECR).
fn doctor_pushes(dir: &Path, env: &[(&str, &str)], argv: &[&str]) -> BTreeSet<String> {
    let doc = report(dir, env, argv);
    let mut refs: BTreeSet<String> = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["reference"].as_str().unwrap().to_string())
        .collect();
    for other in doc["command"]["not_checked"].as_array().unwrap() {
        refs.insert(other.as_str().unwrap().to_string());
    }
    refs
}

/// The environment, the global flags and the services named.
type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str], &'a [&'a str]);

#[test]
fn compose_push_is_planned_as_compose_resolves_the_project() {
    let Some(plugin) = peers().var("ECR_DOCTOR_TEST_COMPOSE_SID") else {
        panic!("the compose plugin is not unpacked: see scripts/peers");
    };
    let dir = project();
    // (environment, global flags, services): each compared with Compose's own resolution.
    let cases: &[Case] = &[
        (&[], &[], &[]),
        (&[("TAG", "from-shell")], &[], &[]),
        (&[("COMPOSE_PROFILES", "jobs")], &[], &[]),
        (&[], &["--profile", "jobs"], &[]),
        (&[], &["-f", "compose.yaml"], &[]),
        (&[], &[], &["worker"]),
    ];
    for (env, global, services) in cases {
        let want = compose_pushes(plugin, dir.path(), env, global, services);
        let mut argv = vec!["docker", "compose"];
        argv.extend_from_slice(global);
        argv.push("push");
        argv.extend_from_slice(services);
        let got = doctor_pushes(dir.path(), env, &argv);
        assert_eq!(got, want, "{env:?} {argv:?}");
        assert!(!got.is_empty());
    }
    // The override file and `.env` took part.
    let all = compose_pushes(plugin, dir.path(), &[], &[], &[]);
    assert!(
        all.iter()
            .any(|r| r.ends_with("compose-api:from-dotenv-override")),
        "{all:?}"
    );
}

/// The verdict is the `docker push` path's, tag by tag: the founding case through Compose.
#[test]
fn compose_push_of_a_default_build_fails_on_engine_26_with_an_immutable_tag() {
    let e = peers().required_engine("old-containerd");
    let (_, r) = repository("compose-founding", "IMMUTABLE");
    e.build(&r, "compose founding", &[]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("compose.yaml"),
        format!("services:\n  app:\n    build: .\n    image: {r}\n"),
    )
    .unwrap();
    let mut cmd = doctor(
        Some(&e),
        &[
            "check", "--format", "json", "--", "docker", "compose", "push",
        ],
    );
    cmd.current_dir(dir.path())
        .env("AWS_ENDPOINT_URL_ECR", peers().moto_url());
    let run = run(cmd);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(run.outcome("push-risk", Some(&r)), "fail");
    assert_eq!(run.json()["command"]["path"], "docker_push");
}

/// Every reference a plan pushes, with what it pushes there (from the JSON report).
fn planned(dir: &Path, env: &[(&str, &str)], argv: &[&str]) -> BTreeSet<String> {
    report(dir, env, argv)["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| format!("{} {}", t["reference"], t["pushed"]))
        .collect()
}

/// `docker compose build --push` is planned as the bake definition Compose itself writes: ecr-doctor's plan
/// of the compose command equals its plan of `docker buildx bake` over what `build --push --print` prints
/// (Compose 2.40's bake builder), service by service: tags, platforms, attestations, bake target.
#[test]
fn compose_build_push_is_planned_as_the_bake_compose_writes() {
    let Some(plugin) = peers().var("ECR_DOCTOR_TEST_COMPOSE_SID") else {
        panic!("the compose plugin is not unpacked: see scripts/peers");
    };
    let dir = project();
    let registry = format!("{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com");
    std::fs::write(
        dir.path().join("compose.build.yaml"),
        format!(
            "services:\n\
             \x20 multi:\n\
             \x20   build:\n\
             \x20     context: .\n\
             \x20     platforms: [linux/amd64, linux/arm64]\n\
             \x20     tags: [\"{registry}/compose-multi:extra\"]\n\
             \x20     sbom: true\n\
             \x20     provenance: mode=max\n\
             \x20   image: {registry}/compose-multi:v1\n\
             \x20 quiet:\n\
             \x20   build:\n\
             \x20     context: .\n\
             \x20     provenance: false\n\
             \x20   image: {registry}/compose-quiet:v1\n"
        ),
    )
    .unwrap();
    // (environment, global flags, build flags and services)
    let cases: &[Case] = &[
        (&[], &[], &[]),
        (
            &[("COMPOSE_PROFILES", "jobs")],
            &[],
            &["--provenance=false"],
        ),
        (&[], &["-f", "compose.build.yaml"], &[]),
        (
            &[],
            &["-f", "compose.build.yaml"],
            &["--sbom=false", "quiet"],
        ),
    ];
    for (env, global, rest) in cases {
        let mut args = global.to_vec();
        args.extend(["build", "--push", "--print"]);
        args.extend(rest.iter().filter(|a| !a.starts_with("--")));
        let printed = compose_says(plugin, dir.path(), env, &args);
        std::fs::write(dir.path().join("printed.json"), printed).unwrap();
        // Compose passes its --provenance and --sbom on to bake.
        let mut bake = vec!["docker", "buildx", "bake", "-f", "printed.json"];
        bake.extend(rest.iter().filter(|a| a.starts_with("--")));
        let want = planned(dir.path(), env, &bake);
        let mut argv = vec!["docker", "compose"];
        argv.extend_from_slice(global);
        argv.extend(["build", "--push"]);
        argv.extend_from_slice(rest);
        let got = planned(dir.path(), env, &argv);
        assert!(!got.is_empty(), "{argv:?}");
        assert_eq!(got, want, "{env:?} {argv:?}");
    }
}

/// ED005 reads the real plugin's version: Compose 2.40 (sid) builds with bake, so the prediction stands;
/// Compose 2.26 (trixie) builds in-process, so the run is undecided and says how to build with bake.
#[test]
fn compose_build_push_needs_a_compose_that_builds_with_bake() {
    let dir = project();
    for (compose, buildx, env, outcome, says) in [
        ("SID", "SID", &[][..], "pass", "builds with bake"),
        ("TRIXIE", "SID", &[], "unknown", "builds in-process"),
        (
            "SID",
            "SID",
            &[("COMPOSE_BAKE", "true")],
            "pass",
            "builds with bake",
        ),
        ("SID", "TRIXIE", &[], "fail", "requires buildx 0.17"),
    ] {
        let plugins = tempfile::tempdir().unwrap();
        let bin = plugins.path().join("cli-plugins");
        std::fs::create_dir(&bin).unwrap();
        for (name, release) in [("docker-compose", compose), ("docker-buildx", buildx)] {
            let var = format!("ECR_DOCTOR_TEST_{}_{release}", &name[7..].to_uppercase());
            let path = peers()
                .var(&var)
                .unwrap_or_else(|| panic!("{var} is not set: see scripts/peers"));
            std::os::unix::fs::symlink(path, bin.join(name)).unwrap();
        }
        let mut cmd = doctor(
            None,
            &[
                "check",
                "--offline",
                "--format",
                "json",
                "--",
                "docker",
                "compose",
                "build",
                "--push",
            ],
        );
        cmd.current_dir(dir.path())
            .env("DOCKER_CONFIG", plugins.path())
            .env(
                "DOCKER_HOST",
                format!("unix://{}/no.sock", dir.path().display()),
            )
            .envs(env.iter().copied());
        let r = run(cmd);
        assert_eq!(
            r.outcome("compose", None),
            outcome,
            "{compose} {buildx} {env:?}: {}",
            r.stdout
        );
        let f = r.json()["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["check"] == "compose")
            .cloned()
            .unwrap();
        assert!(f["message"].as_str().unwrap().contains(says), "{f}");
        // Compose's bake pushes with the docker CLI's own login: the login checks are about it.
        for check in [
            "registry-credentials",
            "repository-policy",
            "push-permission",
        ] {
            assert!(
                r.json()["findings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|f| f["check"] == check),
                "{check} is not run for docker compose build --push"
            );
        }
    }
}

/// What ecr-doctor does not read of Compose is one line and exit 2, never a guess.
#[test]
fn compose_commands_not_read_are_one_line_errors() {
    let empty = tempfile::tempdir().unwrap();
    let dir = project();
    for (cwd, argv, says) in [
        (
            empty.path(),
            &["docker", "compose", "push"][..],
            "no compose file",
        ),
        (
            dir.path(),
            &["docker", "compose", "build"],
            "without --push pushes nothing",
        ),
        (
            dir.path(),
            &["docker", "compose", "up"],
            "not a push command",
        ),
        (
            dir.path(),
            &["docker", "compose", "push", "nosuch"],
            "no such service: nosuch",
        ),
        (
            dir.path(),
            &["docker", "compose", "push", "db"],
            "pushes nothing",
        ),
    ] {
        let mut args = vec!["check", "--offline", "--"];
        args.extend_from_slice(argv);
        let mut cmd = doctor(None, &args);
        cmd.current_dir(cwd);
        let r = run(cmd);
        assert_eq!(r.code, 2, "{argv:?}: {}", r.stdout);
        assert_eq!(r.stderr.lines().count(), 1, "{argv:?}: {}", r.stderr);
        assert!(r.stderr.contains(says), "{argv:?}: {}", r.stderr);
    }
}

/// A DOCKER_CONFIG with the tests' ECR login, the sid Compose (2.40.3) and the buildx plugin of `release`
/// (`SID`: 0.29.1, `TRIXIE`: 0.13.1).
fn compose_plugins(release: &str) -> tempfile::TempDir {
    let config = tempfile::tempdir().unwrap();
    std::fs::copy(
        docker_config().join("config.json"),
        config.path().join("config.json"),
    )
    .unwrap();
    let bin = config.path().join("cli-plugins");
    std::fs::create_dir(&bin).unwrap();
    for (name, var) in [
        ("docker-compose", "ECR_DOCTOR_TEST_COMPOSE_SID"),
        (
            "docker-buildx",
            &format!("ECR_DOCTOR_TEST_BUILDX_{release}"),
        ),
    ] {
        let path = peers()
            .var(var)
            .unwrap_or_else(|| panic!("{var} is not set: see scripts/peers"));
        std::os::unix::fs::symlink(path, bin.join(name)).unwrap();
    }
    config
}

/// The Compose cells of the push matrix: on engine 26.1.5 and 28.5.2, both image stores, a new tag of an
/// IMMUTABLE repository pushed by `docker compose push` (after `docker compose build`) and by `docker compose
/// build --push` (with and without `--provenance=false`), through the ECR-faithful gate, with Compose 2.40.3
/// and buildx 0.29.1 — and once with buildx 0.13.1, which Compose refuses. In every cell
/// ecr-doctor's verdict — push-risk for `push`, buildx-push for `build --push`, and the exit code — agrees with
/// the real push.
#[test]
fn compose_cells_every_verdict_agrees_with_the_real_push() {
    let g = Gate::start(peers().registry(), peers().moto_url());
    let mut table = String::new();
    for (name, buildx) in [
        ("old-containerd", "SID"),
        ("old-classic", "SID"),
        ("new-containerd", "SID"),
        ("new-classic", "SID"),
        ("old-containerd", "TRIXIE"),
    ] {
        let Some(e) = peers().engine(name) else {
            eprintln!("{name} is not running here: its cells are skipped");
            continue;
        };
        let config = compose_plugins(buildx);
        let cells: &[ComposeCell] = if buildx == "SID" {
            &[
                ("push", "push-risk", &[]),
                ("build", "buildx-push", &["--push"]),
                ("build", "buildx-push", &["--push", "--provenance=false"]),
            ]
        } else {
            // Compose 2.40 refuses to bake with buildx 0.13: the compose check says so before the push.
            &[("build", "compose", &["--push"])]
        };
        for cell in cells {
            let line = compose_cell(&g, &e, config.path(), cell, &table);
            let _ = writeln!(table, "{name} (buildx {buildx}) {line}");
        }
    }
    eprintln!("{table}");
}

/// A Compose cell: the command (`push` or `build`), the check that decides it, the command's flags.
type ComposeCell = (&'static str, &'static str, &'static [&'static str]);

/// One Compose cell on `e`: ecr-doctor's verdict, then the real push through the gate, which must agree
/// (`table` is what ran before, for the failure message). Returns the cell's line of the table.
fn compose_cell(g: &Gate, e: &Engine, config: &Path, cell: &ComposeCell, table: &str) -> String {
    let &(command, check, extra) = cell;
    let ecr = format!("{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com");
    let repo = unique("compose-cell");
    moto().create_repository(&repo, "IMMUTABLE", &[]);
    let dir = compose_project(&repo);
    let compose = |registry: &str, args: &[&str]| {
        std::process::Command::new(&e.cli)
            .arg("compose")
            .args(args)
            .current_dir(dir.path())
            .env("DOCKER_HOST", &e.host)
            .env("DOCKER_CONFIG", config)
            .env("REGISTRY", registry)
            .output()
            .unwrap()
    };
    if command == "push" {
        // The image `docker compose push` pushes, under both names: the gate's and ECR's.
        let built = compose(&g.host(), &["build"]);
        assert!(
            built.status.success(),
            "{}",
            String::from_utf8_lossy(&built.stderr)
        );
        e.docker_ok(
            &[
                "tag",
                &format!("{}/{repo}:v1", g.host()),
                &format!("{ecr}/{repo}:v1"),
            ],
            None,
        );
    }
    let mut argv = vec![
        "check", "--format", "json", "--", "docker", "compose", command,
    ];
    argv.extend_from_slice(extra);
    let mut cmd = doctor(Some(e), &argv);
    cmd.current_dir(dir.path())
        .env("DOCKER_CONFIG", config)
        .env("REGISTRY", &ecr)
        .env("AWS_ENDPOINT_URL_ECR", peers().moto_url());
    let r = run(cmd);
    let reference = format!("{ecr}/{repo}:v1");
    // The compose check is about the machine, the others about the reference.
    let verdict = r.outcome(
        check,
        Some(reference.as_str()).filter(|_| check != "compose"),
    );
    let mut args = vec![command];
    args.extend_from_slice(extra);
    let pushed = compose(&g.host(), &args).status.success();
    let line = format!(
        "docker compose {command} {}: {check} {verdict}, exit {}, real push {}",
        extra.join(" "),
        r.code,
        if pushed { "ok" } else { "refused" }
    );
    let name = &e.name;
    assert_eq!(
        verdict == "fail",
        !pushed,
        "{name} {command} {extra:?}:\n{table}{line}\n{}",
        r.stdout
    );
    assert_eq!(
        r.code == 1,
        !pushed,
        "{name} {command} {extra:?}:\n{table}{line}\n{}",
        r.stdout
    );
    if command == "push" {
        e.docker_ok(
            &["rmi", &format!("{}/{repo}:v1", g.host()), &reference],
            None,
        );
    }
    line
}

/// A Compose project of one service built from a unique Dockerfile, its image named
/// `${REGISTRY}/REPO:v1`.
fn compose_project(repo: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!("FROM scratch\nCOPY f /{repo}\n"),
    )
    .unwrap();
    std::fs::write(dir.path().join("f"), repo).unwrap();
    std::fs::write(
        dir.path().join("compose.yaml"),
        format!("services:\n  app:\n    build: .\n    image: ${{REGISTRY}}/{repo}:v1\n"),
    )
    .unwrap();
    dir
}
