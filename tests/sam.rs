//! `ecr-doctor check -- sam deploy` in the app `scripts/sam-fixture` built with the real `sam build`
//! (tests/data/sam/app: its .aws-sam/build/template.yaml and samconfig.toml), against moto's ECR API and the real
//! engines, each verdict next to the real push SAM CLI makes.
//!
//! SAM CLI is not installed here (it is Python, not a peer): the push it makes is made with the same engine call.
//! Read in aws/aws-sam-cli, samcli/lib/package/ecr_uploader.py: it tags the local image `sam build` left as
//! `REPOSITORY:NAME-ID12-TAG` and has the engine push it (`POST /images/{name}/push`), which is what `docker tag`
//! and `docker push` ask of the engine; here that push goes through the ECR-faithful immutability gate. The local
//! images are built as `sam build` builds them: the function's Dockerfile, `--platform` of its architecture, tagged
//! `NAME:DockerTag`.
//!
//! Each test takes its own copy of the app: moto's account, repositories and local image names of its own.

// The parts of tests/common this binary uses, and no others (docs/testing.md, "The harness").
mod common {
    pub mod canary;
    pub mod cli;
    pub mod docker;
    pub mod engine;
    pub mod engines;
    pub mod filters;
    pub mod finding;
    pub mod json;
    pub mod logins;
    pub mod moto;
    pub mod names;
    pub mod outcome;
    pub mod peers;
    pub mod registry;
    pub mod run;
    pub use {
        canary::*, cli::*, engine::*, filters::*, logins::*, moto::*, names::*, peers::*, run::*,
    };
}
mod gate;
#[path = "gate/log.rs"]
mod gate_log;

use std::path::Path;

use common::*;
use gate::{Gate, PutOutcome};

/// A copy of the fixture app whose repositories (IMMUTABLE, in moto) and local image names are the test's own.
struct App {
    dir: tempfile::TempDir,
    hello_repo: String,
    arm_repo: String,
    hello_image: String,
    arm_image: String,
}

impl App {
    fn new() -> App {
        let dir = tempfile::tempdir().unwrap();
        let id = unique("sam");
        let (hello_repo, arm_repo) = (format!("{id}-hello"), format!("{id}-arm"));
        let (hello_image, arm_image) = (format!("{id}-hellofunction"), format!("{id}-armfunction"));
        let rewrite = |text: &str| {
            text.replace("111111111111", ACCOUNT)
                .replace("/hello\"", &format!("/{hello_repo}\""))
                .replace("/arm\"", &format!("/{arm_repo}\""))
                .replace("hellofunction:", &format!("{hello_image}:"))
                .replace("armfunction:", &format!("{arm_image}:"))
        };
        let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sam/app");
        for file in [
            "samconfig.toml",
            "template.yaml",
            ".aws-sam/build/template.yaml",
            "hello/Dockerfile",
            "hello/hello.txt",
        ] {
            let to = dir.path().join(file);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            let text = std::fs::read_to_string(from.join(file)).unwrap();
            std::fs::write(to, rewrite(&text)).unwrap();
        }
        // The test's own content, so its images are its own on a shared engine.
        std::fs::write(dir.path().join("hello/hello.txt"), &id).unwrap();
        for repo in [&hello_repo, &arm_repo] {
            moto().create_repository(repo, "IMMUTABLE", &[]);
        }
        App {
            dir,
            hello_repo,
            arm_repo,
            hello_image,
            arm_image,
        }
    }

    /// The local image `sam build` leaves for a function: its Dockerfile built for `platform`, as `NAME:v1`.
    fn build(&self, e: &Engine, image: &str, platform: &str, extra: &[&str]) -> String {
        let tag = format!("{image}:v1");
        let mut args = vec!["build", "-q", "--platform", platform, "-t", &tag];
        args.extend_from_slice(extra);
        args.push(".");
        e.docker_ok(&args, Some(&self.dir.path().join("hello")));
        e.docker_ok(&["image", "inspect", "--format", "{{.Id}}", &tag], None)
    }

    /// `ecr-doctor check --format json -- sam deploy ARGS` in the app, against `e`.
    fn check(&self, e: &Engine, args: &[&str]) -> Run {
        let mut argv = vec!["check", "--format", "json", "--", "sam", "deploy"];
        argv.extend_from_slice(args);
        let mut cmd = doctor(Some(e), &argv);
        cmd.env("DOCKER_CONFIG", &e.config)
            .env("AWS_ENDPOINT_URL_ECR", peers().moto_url())
            .current_dir(self.dir.path());
        run(cmd)
    }

    /// The remote reference SAM pushes `image` to: `REPO:NAME-ID12-v1` (image_utils.py `tag_translation`).
    fn reference(&self, repo: &str, image: &str, id: &str) -> String {
        let hex = id.trim_start_matches("sha256:");
        ecr_ref(repo, &format!("{image}-{}-v1", &hex[..12]))
    }

    /// SAM's push of `image` to `reference`, through `g`: the tag and the engine's push. Whether it succeeded.
    fn push(&self, e: &Engine, g: &Gate, image: &str, reference: &str) -> bool {
        let (_, path) = reference.split_once('/').unwrap();
        let target = format!("{}/{path}", g.host());
        e.docker_ok(&["tag", &format!("{image}:v1"), &target], None);
        let pushed = e.docker(&["push", &target], None).status.success();
        e.docker_ok(&["rmi", &target], None);
        pushed
    }

    fn remove(&self, e: &Engine) {
        for image in [&self.hello_image, &self.arm_image] {
            e.docker(&["rmi", &format!("{image}:v1")], None);
        }
    }
}

/// samconfig.toml's image_repositories give each function its repository; the arm64 function's image built for
/// amd64 is refused by consumer-shape (Lambda would run it on arm64), the x86_64 one passes; both pushes succeed.
#[test]
fn an_arm64_function_with_an_amd64_image_fails_and_the_pushes_agree() {
    let e = peers().required_engine("new-classic");
    let g = Gate::start(peers().registry(), peers().moto_url());
    let app = App::new();
    let hello = app.build(&e, &app.hello_image, "linux/amd64", &[]);
    let arm = app.build(&e, &app.arm_image, "linux/amd64", &[]);
    let r = app.check(&e, &[]);
    let hello_ref = app.reference(&app.hello_repo, &app.hello_image, &hello);
    let arm_ref = app.reference(&app.arm_repo, &app.arm_image, &arm);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_eq!(r.outcome("consumer-shape", Some(&arm_ref)), "fail");
    let f = r.finding("consumer-shape", Some(&arm_ref));
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .starts_with("the function runs on arm64, the image is for linux/amd64"),
        "{f}"
    );
    assert!(f.to_string().contains("--platform linux/arm64"), "{f}");
    assert_eq!(r.outcome("consumer-shape", Some(&hello_ref)), "pass");
    for reference in [&hello_ref, &arm_ref] {
        assert_eq!(r.outcome("push-risk", Some(reference)), "pass");
        assert_eq!(r.outcome("tag-collision", Some(reference)), "pass");
    }
    // The docker CLI's login is not SAM's: it logs in itself with the deploying credentials.
    assert!(
        !r.stdout.contains("\"registry-credentials\""),
        "registry-credentials is not run for sam deploy"
    );
    assert!(app.push(&e, &g, &app.hello_image, &hello_ref));
    assert!(app.push(&e, &g, &app.arm_image, &arm_ref));

    // Built for arm64, as `sam build` builds it from the template: consumer-shape passes.
    let arm = app.build(&e, &app.arm_image, "linux/arm64", &[]);
    let r = app.check(&e, &[]);
    let arm_ref = app.reference(&app.arm_repo, &app.arm_image, &arm);
    assert_eq!(
        r.outcome("consumer-shape", Some(&arm_ref)),
        "pass",
        "{}",
        r.stdout
    );
    app.remove(&e);
}

/// sam deploy does not look before it pushes: deploying an unchanged image again pushes it to the tag it is
/// already under. ECR refuses that on an immutable repository even at the same digest, and the classic store's
/// pusher always sends the manifest: tag-collision fails and so does the real push. The containerd store's pusher
/// finds the tag at its digest and sends nothing: both pass.
#[test]
fn deploying_an_unchanged_image_again_agrees_with_the_real_push() {
    let g = Gate::start(peers().registry(), peers().moto_url());
    for (name, refused) in [("new-classic", true), ("new-containerd", false)] {
        let Some(e) = peers().engine(name) else {
            eprintln!("{name} is not running here: skipped");
            continue;
        };
        let app = App::new();
        let id = app.build(&e, &app.hello_image, "linux/amd64", &["--provenance=false"]);
        app.build(&e, &app.arm_image, "linux/arm64", &["--provenance=false"]);
        let hello_ref = app.reference(&app.hello_repo, &app.hello_image, &id);
        assert!(
            app.push(&e, &g, &app.hello_image, &hello_ref),
            "{name}: first deploy"
        );
        let r = app.check(&e, &[]);
        let verdict = r.outcome("tag-collision", Some(&hello_ref));
        let mark = g.mark();
        let pushed = app.push(&e, &g, &app.hello_image, &hello_ref);
        assert_eq!(
            verdict,
            if refused { "fail" } else { "pass" },
            "{name}: {}",
            r.stdout
        );
        assert_eq!(!pushed, refused, "{name}: the real push");
        if refused {
            assert!(
                g.puts_since(mark, &app.hello_repo)
                    .iter()
                    .any(|p| matches!(p.outcome, PutOutcome::Refused { .. })),
                "{name}: refused by the immutability rule"
            );
            assert_eq!(r.code, 1, "{name}");
        }
        app.remove(&e);
    }
}

/// The founding case through sam deploy: an image built with the builder's defaults on engine 26.1.5's containerd
/// store is an index with a provenance attestation (SAM with `--use-buildkit` builds with buildx); the engine's push
/// of it fails on the immutable tag, and Lambda would refuse the index anyway.
#[test]
fn an_index_on_engine_26_containerd_fails_as_the_real_push_does() {
    let e = peers().required_engine("old-containerd");
    let g = Gate::start(peers().registry(), peers().moto_url());
    let app = App::new();
    let id = app.build(&e, &app.hello_image, "linux/amd64", &[]);
    app.build(&e, &app.arm_image, "linux/arm64", &["--provenance=false"]);
    let r = app.check(&e, &[]);
    let hello_ref = app.reference(&app.hello_repo, &app.hello_image, &id);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_eq!(r.outcome("push-risk", Some(&hello_ref)), "fail");
    let fix = &r.finding("push-risk", Some(&hello_ref))["remediation"][0];
    assert_eq!(fix["commands"][0], "sam build && sam deploy", "{fix}");
    assert_eq!(r.outcome("consumer-shape", Some(&hello_ref)), "fail");
    assert!(
        !app.push(&e, &g, &app.hello_image, &hello_ref),
        "the real push fails too"
    );
    app.remove(&e);
}

/// SAM CLI's own uploader (`ECRUploader.upload`, from the aws-sam-cli `scripts/sam-fixture` installs under
/// target/tools; skipped where it is not installed, as in CI) pushing through the gate: the tag it makes is the one
/// predicted, and its pushes succeed and fail where the verdicts say (a first deploy and a re-deploy on the classic
/// store). Its ECR login is skipped: the gate asks for no credential.
#[test]
fn sams_own_uploader_pushes_where_and_as_predicted() {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tools/sam-venv/bin/python");
    if !python.is_file() {
        eprintln!("aws-sam-cli is not installed under target/tools (scripts/sam-fixture): skipped");
        return;
    }
    const UPLOAD: &str = "import sys, docker\n\
        from samcli.lib.package.ecr_uploader import ECRUploader\n\
        host, repo, image, function = sys.argv[1:5]\n\
        u = ECRUploader(docker.DockerClient(base_url=host), None, repo, None, no_progressbar=True)\n\
        u.login_session_active = True\n\
        print(u.upload(image, function))\n";
    let g = Gate::start(peers().registry(), peers().moto_url());
    let sam_push = |e: &Engine, app: &App| {
        let out = std::process::Command::new(&python)
            .args(["-c", UPLOAD, &e.host])
            .arg(format!("{}/{}", g.host(), app.hello_repo))
            .arg(format!("{}:v1", app.hello_image))
            .arg("HelloFunction")
            .env("SAM_CLI_TELEMETRY", "0")
            .output()
            .unwrap();
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };

    let e = peers().required_engine("new-classic");
    let app = App::new();
    let id = app.build(&e, &app.hello_image, "linux/amd64", &[]);
    app.build(&e, &app.arm_image, "linux/arm64", &[]);
    let predicted = app.reference(&app.hello_repo, &app.hello_image, &id);
    let r = app.check(&e, &[]);
    assert_eq!(r.outcome("tag-collision", Some(&predicted)), "pass");
    let pushed = sam_push(&e, &app).expect("SAM's first push succeeds");
    assert_eq!(
        pushed.rsplit_once(':').unwrap().1,
        predicted.rsplit_once(':').unwrap().1,
        "SAM tags the push as predicted"
    );
    let r = app.check(&e, &[]);
    assert_eq!(
        r.outcome("tag-collision", Some(&predicted)),
        "fail",
        "{}",
        r.stdout
    );
    let mark = g.mark();
    assert_eq!(sam_push(&e, &app), None, "SAM's re-push is refused too");
    assert!(
        g.puts_since(mark, &app.hello_repo)
            .iter()
            .any(|p| matches!(p.outcome, PutOutcome::Refused { .. })),
        "by the immutability rule"
    );
    // SAM leaves its tag on the image; the test's own engine state goes with it.
    e.docker(&["rmi", &pushed], None);
    app.remove(&e);
}

/// What cannot be read is one line and exit 2: no build, an image sam build has not made, a repository SAM makes
/// itself.
#[test]
fn no_build_no_image_or_an_unknown_repository_is_one_line_and_exit_2() {
    let e = peers().required_engine("new-classic");
    let app = App::new();
    let cases: [(&str, &[&str], &str); 3] = [
        (
            "no image built",
            &[],
            "is not in the Docker engine: run `sam build`",
        ),
        (
            "the source template",
            &["--template-file", "template.yaml"],
            "has no ImageUri: run `sam build`",
        ),
        (
            "a config env with no repository",
            &["--config-env", "nosuch", "--resolve-image-repos"],
            "made by SAM's companion stack",
        ),
    ];
    for (what, args, says) in cases {
        let r = app.check(&e, args);
        assert_eq!(r.code, 2, "{what}: {}", r.stdout);
        assert_eq!(r.stderr.lines().count(), 1, "{what}: {}", r.stderr);
        assert!(r.stderr.contains(says), "{what}: {}", r.stderr);
    }
    std::fs::remove_dir_all(app.dir.path().join(".aws-sam")).unwrap();
    std::fs::remove_file(app.dir.path().join("template.yaml")).unwrap();
    let r = app.check(&e, &[]);
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stderr.trim(),
        "ecr-doctor: error: the push command: no .aws-sam/build/template.yaml (nor template.yaml): run `sam build` first"
    );
}
