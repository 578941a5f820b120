//! `ecr-doctor check -- COMMAND…`: the push command as the input, against real engines, real buildx
//! plugins and moto. The verdicts of real build-and-push runs are proved in tests/push_matrix.rs; these
//! tests pin what the command path itself promises: no build is started, the plan is recorded, bad commands
//! are one-line usage errors.

// The parts of tests/common this binary uses, and no others (docs/testing.md, "The harness").
mod common {
    pub mod buildx;
    pub mod canary;
    pub mod check;
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
    pub mod replay;
    pub mod repository;
    pub mod run;
    pub use {
        buildx::*, canary::*, check::*, cli::*, engine::*, filters::*, logins::*, moto::*,
        names::*, peers::*, replay::*, repository::*, run::*,
    };
}

use std::path::Path;

use common::*;

/// `ecr-doctor check --format json -- ARGV…` against `engine`, with `config` as DOCKER_CONFIG, in `dir`.
fn check_command(engine: &Engine, config: &str, dir: &Path, argv: &[&str]) -> Run {
    check_command_with(engine, config, dir, &[], argv)
}

/// [`check_command`] with `options` of ecr-doctor's own before the `--`.
fn check_command_with(
    engine: &Engine,
    config: &str,
    dir: &Path,
    options: &[&str],
    argv: &[&str],
) -> Run {
    let mut args = vec!["check", "--format", "json"];
    args.extend_from_slice(options);
    args.push("--");
    args.extend_from_slice(argv);
    let mut cmd = doctor(Some(engine), &args);
    cmd.env("DOCKER_CONFIG", config)
        .env("AWS_ENDPOINT_URL_ECR", peers().moto_url())
        .current_dir(dir);
    run(cmd)
}

/// A DOCKER_CONFIG whose buildx plugin is the distribution `dist`'s (`trixie`: 0.13.1; `sid`: 0.29.1),
/// or none, with the tests' logins.
fn buildx_config(dist: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    cli_config_in(dir.path(), dist.map(buildx_plugin).as_deref());
    dir
}

/// A docker-container builder named `name` made current for `e` in the DOCKER_CONFIG `config`, by real
/// `buildx create` (without --bootstrap it writes the builder's files and starts nothing) and `buildx use`;
/// `opts` are its --driver-opt values. Returns the engine with that config.
fn container_builder(e: &Engine, config: &Path, name: &str, opts: &[&str]) -> Engine {
    let engine = Engine {
        config: config.to_str().unwrap().to_string(),
        ..e.clone()
    };
    let mut args = vec![
        "buildx",
        "create",
        "--name",
        name,
        "--driver",
        "docker-container",
    ];
    for o in opts {
        args.extend(["--driver-opt", o]);
    }
    engine.docker_ok(&args, None);
    engine.docker_ok(&["buildx", "use", name], None);
    engine
}

/// Whether the system plugin directories hold a buildx, which a config without a cli-plugins directory
/// (`buildx_config(None)`) then finds: a test of "no plugin" cannot run here.
fn system_buildx_installed() -> bool {
    [
        "/usr/local/lib/docker/cli-plugins",
        "/usr/local/libexec/docker/cli-plugins",
        "/usr/lib/docker/cli-plugins",
        "/usr/libexec/docker/cli-plugins",
    ]
    .iter()
    .any(|d| Path::new(d).join("docker-buildx").exists())
}

#[test]
fn a_build_push_is_predicted_without_building() {
    let e = peers().required_engine("old-containerd");
    let (_, r) = repository("cmd-build", "IMMUTABLE");
    let config = buildx_config(Some("trixie"));
    let ctx = tempfile::tempdir().unwrap();

    let run = check_command(
        &e,
        config.path().to_str().unwrap(),
        ctx.path(),
        &[
            "docker",
            "buildx",
            "build",
            "--push",
            "--platform",
            "linux/amd64",
            "-t",
            &r,
            "-t",
            "ghcr.io/acme/app:v1",
            "--build-arg",
            "TOKEN=s3cret",
            ".",
        ],
    );
    // The first row: buildx 0.13.1 + engine 26.1.5 on the containerd store pushes twice.
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.outcome("buildx-push", Some(&r)), "fail");
    assert_eq!(run.outcome("buildx", None), "pass");
    let doc = run.json();
    // No local image is looked for, and nothing was built.
    let names: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["check"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"local-image"), "{names:?}");
    assert!(
        !e.docker(&["image", "inspect", &r], None).status.success(),
        "no image was built"
    );
    // The plan, as read: the build's path, its output, the reference not checked; no build-arg value.
    assert_eq!(doc["command"]["path"], "build");
    assert_eq!(
        doc["command"]["not_checked"],
        serde_json::json!(["ghcr.io/acme/app:v1"])
    );
    assert_eq!(
        doc["targets"][0]["pushed"],
        serde_json::json!({"kind": "build", "bake_target": null, "platforms": ["linux/amd64"],
            "provenance": null, "sbom": false, "oci_artifact": null})
    );
    assert!(
        !run.stdout.contains("s3cret"),
        "a build argument's value leaked"
    );

    // The same command with buildx 0.29.1: BuildKit pushes alone (docker/buildx#3023).
    let config = buildx_config(Some("sid"));
    let run = check_command(
        &e,
        config.path().to_str().unwrap(),
        ctx.path(),
        &["docker", "buildx", "build", "--push", "-t", &r, "."],
    );
    assert_eq!(
        run.outcome("buildx-push", Some(&r)),
        "pass",
        "{}",
        run.stdout
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
}

/// What the build will push is derived once and recorded: `--save-facts` holds it (the docker driver on engine
/// 26's containerd store makes indexes; a default build is an index with a provenance attestation) and the
/// JSON report shows it. Replaying the saved file, and the same file without the prediction (as an older
/// ecr-doctor wrote it), give the live run's findings and exit code.
#[test]
fn the_build_prediction_is_saved_with_the_facts_and_older_files_replay_alike() {
    let e = peers().required_engine("old-containerd");
    let (_, r) = repository("cmd-predict", "IMMUTABLE");
    let config = buildx_config(Some("trixie"));
    let ctx = tempfile::tempdir().unwrap();
    let saved = ctx.path().join("build.facts.json");
    let live = check_command_with(
        &e,
        config.path().to_str().unwrap(),
        ctx.path(),
        &["--save-facts", saved.to_str().unwrap()],
        &["docker", "buildx", "build", "--push", "-t", &r, "."],
    );
    assert_eq!(
        live.outcome("buildx-push", Some(&r)),
        "fail",
        "{}",
        live.stdout
    );
    assert_eq!(live.code, 1);

    let mut facts: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    assert_eq!(
        facts["builder_can"],
        serde_json::json!({"status": "decided", "value": {"makes_indexes": true}})
    );
    let predicted = &facts["targets"][0]["predicted"].clone();
    assert_eq!(predicted["status"], "decided", "{predicted}");
    assert_eq!(
        predicted["value"]["media_type"],
        "application/vnd.oci.image.index.v1+json"
    );
    let kinds: Vec<&str> = predicted["value"]["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["image", "attestation"]);
    assert_eq!(live.json()["targets"][0]["predicted"], *predicted);

    let replayed = replay(saved.to_str().unwrap(), &["--format", "json"]);
    assert_eq!(replayed.json()["findings"], live.json()["findings"]);
    assert_eq!(replayed.code, live.code);

    facts.as_object_mut().unwrap().remove("builder_can");
    facts["targets"][0]
        .as_object_mut()
        .unwrap()
        .remove("predicted");
    let older = ctx.path().join("older.facts.json");
    std::fs::write(&older, facts.to_string()).unwrap();
    let replayed = replay(older.to_str().unwrap(), &["--format", "json"]);
    assert_eq!(replayed.json()["findings"], live.json()["findings"]);
    assert_eq!(replayed.json()["targets"][0]["predicted"], *predicted);
    assert_eq!(replayed.code, live.code);
}

#[test]
fn a_missing_plugin_fails_a_build_push() {
    let e = peers().required_engine("new-containerd");
    let (_, r) = repository("cmd-noplugin", "MUTABLE");
    let config = buildx_config(None);
    if system_buildx_installed() {
        eprintln!("SKIPPED: a system docker-buildx is installed");
        return;
    }
    let run = check_command(
        &e,
        config.path().to_str().unwrap(),
        config.path(),
        &["docker", "build", "--push", "-t", &r, "."],
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    let f = run.finding("buildx", None);
    assert_eq!(f["outcome"], "fail", "{f}");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("no docker-buildx plugin"),
        "{f}"
    );
}

#[test]
fn the_environment_checklist_names_the_buildx_plugin_and_builder() {
    let e = peers().required_engine("old-containerd");
    let env_run = |config: &Path| {
        let mut cmd = doctor(Some(&e), &["env", "--format", "json", "--offline"]);
        cmd.env("DOCKER_CONFIG", config);
        run(cmd)
    };
    let sid = buildx_config(Some("sid"));
    let r = env_run(sid.path());
    let f = r.finding("buildx", None);
    assert_eq!(f["outcome"], "pass", "{f}");
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains("buildx 0.29.1") && message.contains("builder 'default': docker driver"),
        "{f}"
    );
    // Without a plugin a plain `docker build` still works (the legacy builder): said, not failed.
    if system_buildx_installed() {
        eprintln!("SKIPPED the no-plugin half: a system docker-buildx is installed");
        return;
    }
    let none = buildx_config(None);
    let f = env_run(none.path()).finding("buildx", None).clone();
    assert_eq!(f["outcome"], "pass", "{f}");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("docker build uses the legacy builder"),
        "{f}"
    );
}

/// The onboarding checklist names this machine's push landmines, against the real engines and buildx
/// clients: F2 where `docker push` of a default build fails on an immutable tag, F3 where `buildx build
/// --push` pushes twice; a fixed machine stays green. Warnings only: the checklist exits 0.
#[test]
fn the_checklist_warns_of_this_machines_push_failures() {
    // (engine, buildx, image-store, buildx row)
    let cases = [
        ("old-containerd", "trixie", "warn", "warn"),
        ("old-containerd", "sid", "warn", "pass"),
        ("new-containerd", "sid", "pass", "pass"),
        ("new-containerd", "trixie", "pass", "pass"),
        ("old-classic", "trixie", "pass", "pass"),
    ];
    for (engine, dist, store, buildx) in cases {
        let e = peers().required_engine(engine);
        let config = buildx_config(Some(dist));
        let mut cmd = doctor(Some(&e), &["--format", "json", "--offline"]);
        cmd.env("DOCKER_CONFIG", config.path());
        let r = run(cmd);
        let case = format!("{engine} + buildx {dist}");
        assert_eq!(r.code, 0, "{case}: {}", r.stdout);
        let f = r.finding("image-store", None);
        assert_eq!(f["outcome"], store, "{case}: {f}");
        if store == "warn" {
            let m = f["message"].as_str().unwrap();
            assert!(m.contains("`docker push` of such a build fails"), "{m}");
            assert!(
                f["remediation"][0]["text"]
                    .as_str()
                    .unwrap()
                    .starts_with("Upgrade Docker Engine to 28.2.0"),
                "{f}"
            );
        }
        let f = r.finding("buildx", None);
        assert_eq!(f["outcome"], buildx, "{case}: {f}");
        if buildx == "warn" {
            assert!(
                f["message"]
                    .as_str()
                    .unwrap()
                    .contains("pushes a docker-driver build twice"),
                "{f}"
            );
            assert!(
                f["remediation"][0]["text"]
                    .as_str()
                    .unwrap()
                    .starts_with("Upgrade buildx to 0.22.0"),
                "{f}"
            );
        }
    }
}

/// A docker-container builder on an old BuildKit image (made by real `buildx create`, never started) is
/// named by the checklist: multi-platform pushes to immutable tags fail with it (F5).
#[test]
fn the_checklist_warns_of_an_old_buildkit() {
    let e = peers().required_engine("new-containerd");
    let config = buildx_config(Some("sid"));
    container_builder(&e, config.path(), "old", &["image=moby/buildkit:v0.8.3"]);
    let mut cmd = doctor(Some(&e), &["--format", "json", "--offline"]);
    cmd.env("DOCKER_CONFIG", config.path());
    let r = run(cmd);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let f = r.finding("buildx", None);
    assert_eq!(f["outcome"], "warn", "{f}");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("BuildKit 0.8.3 pushes each child of an index to the tag"),
        "{f}"
    );
}

/// `--for lambda`: a push that succeeds (a mutable tag) still fails the check when Lambda would refuse what
/// it pushes — a default build's index on the containerd store — and passes one image manifest; against real
/// engines, for `docker push` and for a build that pushes.
#[test]
fn lambda_refuses_an_index_that_the_push_accepts() {
    let e = peers().required_engine("new-containerd");
    let (_, r) = repository("cmd-lambda", "MUTABLE");
    e.build(&r, "lambda index", &[]);
    let for_lambda = |extra: &[&str]| {
        let mut args = vec!["check", "--format", "json", "--for", "lambda"];
        args.extend_from_slice(extra);
        let mut cmd = doctor(Some(&e), &args);
        cmd.env("AWS_ENDPOINT_URL_ECR", peers().moto_url());
        run(cmd)
    };
    let run_index = for_lambda(&[&r]);
    assert_eq!(run_index.outcome("push-risk", Some(&r)), "pass");
    let f = run_index.finding("consumer-shape", Some(&r));
    assert_eq!(f["outcome"], "fail", "{f}");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("Lambda refuses an image index"),
        "{f}"
    );
    assert_eq!(run_index.code, 1);

    e.build(&r, "lambda manifest", &["--provenance=false"]);
    let run_one = for_lambda(&[&r]);
    assert_eq!(
        run_one.outcome("consumer-shape", Some(&r)),
        "pass",
        "{}",
        run_one.stdout
    );

    // Without --for the check has nothing to say, and is not listed.
    let plain = check(&e, &[&r], &[]);
    assert!(!plain.stdout.contains("consumer-shape"), "{}", plain.stdout);

    // A build that pushes: its predicted shape.
    let config = buildx_config(Some("sid"));
    let ctx = tempfile::tempdir().unwrap();
    let build = check_command_with(
        &e,
        config.path().to_str().unwrap(),
        ctx.path(),
        &["--for", "lambda"],
        &["docker", "buildx", "build", "--push", "-t", &r, "."],
    );
    assert_eq!(
        build.outcome("consumer-shape", Some(&r)),
        "fail",
        "{}",
        build.stdout
    );
}

#[test]
fn a_builder_named_but_missing_is_a_failure() {
    let e = peers().required_engine("new-containerd");
    let (_, r) = repository("cmd-nobuilder", "MUTABLE");
    let config = buildx_config(Some("sid"));
    let run = check_command(
        &e,
        config.path().to_str().unwrap(),
        config.path(),
        &[
            "docker",
            "buildx",
            "build",
            "--builder",
            "nope",
            "--push",
            "-t",
            &r,
            ".",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    let f = run.finding("buildx", None);
    assert!(
        f["message"].as_str().unwrap().contains("no builder 'nope'"),
        "{f}"
    );
}

#[test]
fn docker_push_as_a_command_is_check_ref() {
    let e = peers().required_engine("old-containerd");
    let (repo, r) = repository("cmd-push", "IMMUTABLE");
    e.build(&r, &repo, &[]);
    let as_command = check_command(
        &e,
        docker_config().to_str().unwrap(),
        Path::new("."),
        &["docker", "image", "push", &r],
    );
    let as_ref = check(&e, &[&r], &[]);
    assert_eq!(as_command.code, 1);
    assert_eq!(as_command.code, as_ref.code);
    assert_eq!(as_command.outcome("push-risk", Some(&r)), "fail");
    let verdicts = |run: &Run| -> Vec<(String, String)> {
        run.json()["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["check"].to_string(), f["outcome"].to_string()))
            .collect()
    };
    assert_eq!(verdicts(&as_command), verdicts(&as_ref));
}

#[test]
fn bad_commands_are_one_line_usage_errors() {
    let e = peers().required_engine("new-containerd");
    let r = ecr_ref("any/app", "v1");
    for (argv, says) in [
        (
            vec!["docker", "buildx", "build", "--frobnicate", "."],
            "--frobnicate",
        ),
        (vec!["docker", "run", &r], "not a push command"),
        (
            vec![
                "docker",
                "buildx",
                "build",
                "--push",
                "-t",
                "ghcr.io/a/b:1",
                ".",
            ],
            "pushes no ECR image",
        ),
        (
            vec!["docker", "buildx", "build", "--load", "-t", &r, "."],
            "pushes nothing",
        ),
        (
            vec![
                "docker",
                "push",
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/Bad:v1",
            ],
            "Bad",
        ),
    ] {
        let run = check_command(&e, docker_config().to_str().unwrap(), Path::new("."), &argv);
        assert_eq!(run.code, 2, "{argv:?}: {}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{argv:?}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{argv:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{argv:?}");
    }
    // REFs and a command at once: clap's usage error.
    let run = run(doctor(None, &["check", &r, "--", "docker", "push", &r]));
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[test]
fn a_docker_container_builder_is_read_from_buildx_files_without_starting_it() {
    let e = peers().required_engine("old-containerd");
    let (_, r) = repository("cmd-container", "IMMUTABLE");
    for dist in ["trixie", "sid"] {
        let config = buildx_config(Some(dist));
        let engine = container_builder(&e, config.path(), "ci", &[]);
        let run = check_command(
            &e,
            &engine.config,
            config.path(),
            &["docker", "buildx", "build", "--push", "-t", &r, "."],
        );
        let f = run.finding("buildx", None);
        assert_eq!(f["evidence"]["driver"], "docker-container", "{dist}: {f}");
        assert!(
            f["evidence"]["chosen by"]
                .as_str()
                .unwrap()
                .ends_with("buildx/current"),
            "{dist}: {f}"
        );
        // The builder pushes from BuildKit only: no double push, even with buildx 0.13.1 on engine 26.
        assert_eq!(
            run.outcome("buildx-push", Some(&r)),
            "pass",
            "{dist}: {}",
            run.stdout
        );
        // Its container does not exist yet: buildx would create it from a floating image, so whether the
        // attestations become OCI artifacts is open.
        let a = run.finding("artifact-attestations", Some(&r));
        assert_eq!(a["outcome"], "warn", "{dist}: {a}");
        assert!(
            a["message"].as_str().unwrap().contains("buildx-stable-1"),
            "{a}"
        );
        assert_eq!(run.code, 0, "{dist}: {}", run.stdout);
        assert!(
            !e.docker(&["container", "inspect", "buildx_buildkit_ci0"], None)
                .status
                .success(),
            "no builder container was started"
        );

        // The builder's files gone (removed by hand): buildx falls back to the context's own builder, and
        // so does ecr-doctor, rather than calling the recorded name missing.
        std::fs::remove_file(config.path().join("buildx/instances/ci")).unwrap();
        let run = check_command(
            &e,
            &engine.config,
            config.path(),
            &["docker", "buildx", "build", "--push", "-t", &r, "."],
        );
        let f = run.finding("buildx", None);
        assert_eq!(f["evidence"]["driver"], "docker", "{dist}: {f}");
        let expected = if dist == "trixie" { "fail" } else { "pass" };
        assert_eq!(
            run.outcome("buildx-push", Some(&r)),
            expected,
            "{dist}: {}",
            run.stdout
        );
    }
}

#[test]
fn what_the_classic_docker_driver_cannot_build_fails_before_and_for_real() {
    let e = peers().required_engine("old-classic");
    let (repo, r) = repository("cmd-support", "MUTABLE");
    let ctx = tempfile::tempdir().unwrap();
    std::fs::write(ctx.path().join("Dockerfile"), "FROM scratch\nCOPY f /f\n").unwrap();
    std::fs::write(ctx.path().join("f"), &repo).unwrap();
    for dist in ["trixie", "sid"] {
        let config = buildx_config(Some(dist));
        let engine = Engine {
            config: config.path().to_str().unwrap().to_string(),
            ..e.clone()
        };
        for (asked, says) in [
            ("--provenance=true", "attestations (provenance)"),
            ("--platform=linux/amd64,linux/arm64", "several platforms"),
        ] {
            let run = check_command(
                &e,
                &engine.config,
                ctx.path(),
                &["docker", "buildx", "build", "--push", asked, "-t", &r, "."],
            );
            let f = run.finding("builder-support", Some(&r));
            assert_eq!(f["outcome"], "fail", "{dist} {asked}: {f}");
            assert!(f["message"].as_str().unwrap().contains(says), "{f}");
            // The same command, for real (to the plain registry: it never gets that far).
            let pushed = format!("{}/{repo}:v1", peers().registry());
            let out = engine.docker(
                &["buildx", "build", "--push", asked, "-t", &pushed, "."],
                Some(ctx.path()),
            );
            assert!(
                !out.status.success(),
                "{dist} {asked}: the build went through"
            );
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains("not supported for the docker driver"), "{err}");
        }
    }
}
