//! `ecr-doctor check -- npx cdk deploy` on the real cloud assembly `scripts/cdk-fixture` synthesized with the
//! aws-cdk CLI (tests/data/cdk/app), against moto's ECR API and the real engines, each verdict next to the
//! real push: the commands cdk-assets runs for an asset (`docker build --tag cdkasset-ID .`, `docker tag`,
//! `docker push`) through the ECR-faithful immutability gate into an IMMUTABLE repository named as the
//! bootstrap names it.
//!
//! Each test takes its own copy of the assembly: the account becomes moto's, the bootstrap qualifier and the
//! asset hashes unique ones (so no test meets another's repository or `cdkasset-` image). Which CLI publishes is
//! read from `node_modules/aws-cdk/package.json`, written here with the version under test (the package's
//! own file carries more, of which ecr-doctor reads `name` and `version`).

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
    pub mod put_image;
    pub mod registry;
    pub mod run;
    pub use {
        canary::*, cli::*, engine::*, filters::*, logins::*, moto::*, names::*, peers::*, run::*,
    };
}
mod gate;
#[path = "gate/log.rs"]
mod gate_log;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use common::*;
use gate::{Gate, PutOutcome};
use sha2::{Digest, Sha256};

/// The asset hashes of the fixture: the plain `DockerImageAsset`, and the `DockerImageFunction`'s image
/// (`platform: linux/amd64`).
const WEB: &str = "3b7319a58a3cdbde76bdd65e70c1cb68ce9c8807995821e6337bf12fd06d5078";
const FUNCTION: &str = "d77cfa21843c5f98ed3d6aa28d9839406af2962fd55e80047124553aae1956da";
/// aws-cdk before 2.1000.0 builds with the caller's environment; from 2.1000.0 with
/// BUILDX_NO_DEFAULT_ATTESTATIONS=1.
const OLD_CLI: &str = "2.178.2";
const NEW_CLI: &str = "2.1148.1";

/// A project directory: the fixture assembly made unique, and the CLI package of `cli`.
struct Project {
    dir: tempfile::TempDir,
    repo: String,
    web: String,
    function: String,
}

impl Project {
    fn new(cli: &str) -> Project {
        Self::of("app", cli)
    }

    /// The fixture assembly `name` (tests/data/cdk/NAME).
    fn of(name: &str, cli: &str) -> Project {
        let dir = tempfile::tempdir().unwrap();
        let qualifier = unique("q").replace('-', "");
        let salt = |hash: &str| format!("{:x}", Sha256::digest(format!("{qualifier}{hash}")));
        let (web, function) = (salt(WEB), salt(FUNCTION));
        let rewrite = |text: &str| {
            text.replace("111111111111", ACCOUNT)
                .replace("hnb659fds", &qualifier)
                .replace(WEB, &web)
                .replace(FUNCTION, &function)
        };
        let from = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/cdk")
            .join(name)
            .join("cdk.out");
        copy_tree(&from, &dir.path().join("cdk.out"), &rewrite);
        let package = dir.path().join("node_modules/aws-cdk/package.json");
        std::fs::create_dir_all(package.parent().unwrap()).unwrap();
        std::fs::write(
            &package,
            format!(r#"{{"name":"aws-cdk","version":"{cli}"}}"#),
        )
        .unwrap();
        let repo = format!("cdk-{qualifier}-container-assets-{ACCOUNT}-{REGION}");
        moto().create_repository(&repo, "IMMUTABLE", &[]);
        Project {
            dir,
            repo,
            web,
            function,
        }
    }

    fn reference(&self, asset: &str) -> String {
        ecr_ref(&self.repo, asset)
    }

    fn asset_dir(&self, asset: &str) -> PathBuf {
        self.dir.path().join(format!("cdk.out/asset.{asset}"))
    }

    /// `ecr-doctor check --format json -- npx cdk deploy` in the project, as `engine`'s CLI user.
    fn check(&self, e: &Engine, env: &[(&str, &str)]) -> Run {
        let mut cmd = doctor(
            Some(e),
            &["check", "--format", "json", "--", "npx", "cdk", "deploy"],
        );
        cmd.env("DOCKER_CONFIG", &e.config)
            .env("AWS_ENDPOINT_URL_ECR", peers().moto_url())
            .envs(env.iter().copied())
            .current_dir(self.dir.path());
        run(cmd)
    }

    /// What cdk-assets runs for `asset` (container-images.ts, docker.ts): the build with its flags and
    /// `BUILDX_NO_DEFAULT_ATTESTATIONS=1` when this CLI sets it (or the shell does), the tag, the push, here
    /// through `gate`. Whether the push succeeded.
    fn publish(&self, e: &Engine, g: &Gate, asset: &str, attestations_off: bool) -> bool {
        self.build(e, asset, attestations_off);
        self.push(e, g, asset)
    }

    /// `docker build --tag cdkasset-ID .` as cdk-assets runs it for `asset`.
    fn build(&self, e: &Engine, asset: &str, attestations_off: bool) {
        let local = format!("cdkasset-{asset}");
        let mut build = std::process::Command::new(&e.cli);
        build
            .args(["build", "--tag", &local])
            .args(if asset == self.function {
                &["--build-arg", "GREETING=hi", "--platform", "linux/amd64"][..]
            } else {
                &[]
            })
            .arg(".")
            .current_dir(self.asset_dir(asset))
            .env("DOCKER_HOST", &e.host)
            .env("DOCKER_CONFIG", &e.config);
        if attestations_off {
            build.env("BUILDX_NO_DEFAULT_ATTESTATIONS", "1");
        }
        let out = build.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `docker tag cdkasset-ID REF` and `docker push REF` (through `gate`): whether the push succeeded.
    fn push(&self, e: &Engine, g: &Gate, asset: &str) -> bool {
        let local = format!("cdkasset-{asset}");
        let target = format!("{}/{}:{asset}", g.host(), self.repo);
        e.docker_ok(&["tag", &local, &target], None);
        let pushed = e.docker(&["push", &target], None).status.success();
        e.docker_ok(&["rmi", &local, &target], None);
        pushed
    }
}

fn copy_tree(from: &Path, to: &Path, rewrite: &dyn Fn(&str) -> String) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = rewrite(&entry.file_name().to_string_lossy());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &to.join(name), rewrite);
        } else {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            std::fs::write(to.join(name), rewrite(&text)).unwrap();
        }
    }
}

fn fixes(run: &Run, target: &str) -> Vec<String> {
    run.finding("push-risk", Some(target))["remediation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["text"].as_str().unwrap().to_string())
        .collect()
}

/// The founding case through CDK: engine 26.1.5 on the containerd store, a CLI whose cdk-assets builds with
/// the shell's defaults. Predicted FAIL with the CDK fix first, and the real push fails; with
/// BUILDX_NO_DEFAULT_ATTESTATIONS=1 both pass.
#[test]
fn cdk_deploy_on_engine_26_containerd_fails_and_the_cdk_fix_makes_it_pass() {
    let e = peers().required_engine("old-containerd");
    let g = Gate::start(peers().registry(), peers().moto_url());

    let p = Project::new(OLD_CLI);
    let r = p.check(&e, &[]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let web = p.reference(&p.web);
    assert_eq!(r.outcome("push-risk", Some(&web)), "fail");
    let f = r.finding("push-risk", Some(&web));
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .starts_with("cdk-assets' docker push will fail"),
        "{f}"
    );
    assert!(fixes(&r, &web)[0].contains("BUILDX_NO_DEFAULT_ATTESTATIONS=1"));
    assert!(fixes(&r, &web)[1].starts_with("Upgrade Docker Engine to 28.2.0"));
    // The Lambda function's image: the push fails, and Lambda would refuse the index anyway.
    let function = p.reference(&p.function);
    assert_eq!(r.outcome("push-risk", Some(&function)), "fail");
    assert_eq!(r.outcome("consumer-shape", Some(&function)), "fail");
    assert_eq!(r.outcome("consumer-shape", Some(&web)), "skip");
    let mark = g.mark();
    assert!(!p.publish(&e, &g, &p.web, false), "the real push fails too");
    assert!(
        g.puts_since(mark, &p.repo)
            .iter()
            .any(|put| matches!(put.outcome, PutOutcome::Refused { .. })),
        "refused by the immutability rule: {:?}",
        g.puts_since(mark, &p.repo)
    );

    let p = Project::new(OLD_CLI);
    let fixed = [("BUILDX_NO_DEFAULT_ATTESTATIONS", "1")];
    let r = p.check(&e, &fixed);
    assert_eq!(r.code, 0, "{}", r.stdout);
    for asset in [&p.web, &p.function] {
        assert_eq!(r.outcome("push-risk", Some(&p.reference(asset))), "pass");
    }
    assert_eq!(
        r.outcome("consumer-shape", Some(&p.reference(&p.function))),
        "pass"
    );
    assert!(p.publish(&e, &g, &p.web, true), "the real push succeeds");
    assert!(p.publish(&e, &g, &p.function, true));
}

/// aws-cdk 2.1000.0 and later build with BUILDX_NO_DEFAULT_ATTESTATIONS=1 themselves: the same engine passes,
/// and so does the real push.
#[test]
fn a_cli_that_turns_attestations_off_passes_on_engine_26_containerd() {
    let e = peers().required_engine("old-containerd");
    let g = Gate::start(peers().registry(), peers().moto_url());
    let p = Project::new(NEW_CLI);
    let r = p.check(&e, &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let web = p.reference(&p.web);
    assert_eq!(r.outcome("push-risk", Some(&web)), "pass");
    let shape = r.finding("image-shape", Some(&web));
    assert!(
        shape
            .to_string()
            .contains("aws-cdk 2.1148.1 runs docker build"),
        "{shape}"
    );
    assert!(p.publish(&e, &g, &p.web, true));
}

/// The CDK cells of the push matrix: engine 26.1.5 and 28.5.2 × both image stores × BUILDX_NO_DEFAULT_ATTESTATIONS
/// in the shell of a CLI that does not set it itself. In every cell push-risk's verdict for each asset agrees with
/// the real push of cdk-assets' command sequence through the gate; on 28.5.2's containerd store the push
/// succeeds, but the Lambda function's default build is an index Lambda refuses.
#[test]
fn cdk_matrix_every_verdict_agrees_with_the_real_push() {
    let g = Gate::start(peers().registry(), peers().moto_url());
    let mut table = String::new();
    for name in [
        "old-containerd",
        "old-classic",
        "new-containerd",
        "new-classic",
    ] {
        let Some(e) = peers().engine(name) else {
            eprintln!("{name} is not running here: its cells are skipped");
            continue;
        };
        for off in [false, true] {
            let p = Project::new(OLD_CLI);
            let env: &[(&str, &str)] = if off {
                &[("BUILDX_NO_DEFAULT_ATTESTATIONS", "1")]
            } else {
                &[]
            };
            let r = p.check(&e, env);
            for asset in [&p.web, &p.function] {
                let verdict = r.outcome("push-risk", Some(&p.reference(asset)));
                let pushed = p.publish(&e, &g, asset, off);
                let _ = writeln!(
                    table,
                    "{name} {} attestations-off={off}: push-risk {verdict}, real push {}",
                    &asset[..8],
                    if pushed { "ok" } else { "refused" }
                );
                assert_eq!(
                    verdict == "fail",
                    !pushed,
                    "{name}, BUILDX_NO_DEFAULT_ATTESTATIONS={off}, asset {asset}:\n{table}"
                );
            }
            let founding = name == "old-containerd" && !off;
            let lambda_refuses = name.ends_with("containerd") && !off;
            let lambda = r.outcome("consumer-shape", Some(&p.reference(&p.function)));
            assert_eq!(
                lambda,
                if lambda_refuses { "fail" } else { "pass" },
                "{name} {off}"
            );
            assert_eq!(
                r.code,
                if founding || lambda_refuses { 1 } else { 0 },
                "{name} {off}: {}",
                r.stdout
            );
        }
    }
    eprintln!("{table}");
}

/// cdk-assets does not build an asset whose `cdkasset-ID` image exists: an index left by an older CLI's build is
/// pushed as it is, even by a CLI that turns attestations off.
#[test]
fn a_cdkasset_image_already_built_is_pushed_as_it_is() {
    let e = peers().required_engine("old-containerd");
    let g = Gate::start(peers().registry(), peers().moto_url());
    let p = Project::new(NEW_CLI);
    p.build(&e, &p.web, false);
    let r = p.check(&e, &[]);
    let web = p.reference(&p.web);
    assert_eq!(r.outcome("push-risk", Some(&web)), "fail", "{}", r.stdout);
    assert!(fixes(&r, &web)[0].contains("remove a stale local cdkasset-"));
    assert_eq!(
        r.outcome("push-risk", Some(&p.reference(&p.function))),
        "pass"
    );
    assert!(
        !p.push(&e, &g, &p.web),
        "the real push of the cached image fails"
    );
}

/// An asset whose tag is already in ECR is never pushed: cdk-assets looks first.
#[test]
fn an_asset_already_in_ecr_passes() {
    let e = peers().required_engine("old-containerd");
    let p = Project::new(OLD_CLI);
    let manifest = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#;
    let digest = format!("sha256:{:x}", Sha256::digest(manifest));
    moto().put_image(&p.repo, &p.web, manifest, &digest);
    let r = p.check(&e, &[]);
    let web = p.reference(&p.web);
    assert_eq!(r.outcome("push-risk", Some(&web)), "pass");
    assert_eq!(r.outcome("tag-collision", Some(&web)), "pass");
    assert!(
        r.finding("push-risk", Some(&web))["message"]
            .as_str()
            .unwrap()
            .contains("cdk-assets finds it")
    );
    // The other asset is not there yet: still the founding case.
    assert_eq!(
        r.outcome("push-risk", Some(&p.reference(&p.function))),
        "fail"
    );
}

/// An environment-agnostic stack is deployed into the caller's account (STS, moto's here) and the configured
/// region, as the CLI resolves them: the founding case again.
#[test]
fn an_environment_agnostic_stack_is_checked_in_the_callers_account_and_region() {
    let e = peers().required_engine("old-containerd");
    let p = Project::of("agnostic", OLD_CLI);
    let r = p.check(&e, &[("AWS_REGION", REGION)]);
    let web = p.reference(&p.web);
    assert_eq!(r.outcome("push-risk", Some(&web)), "fail", "{}", r.stdout);
    assert_eq!(
        r.outcome("consumer-shape", Some(&p.reference(&p.function))),
        "fail"
    );
}

/// An assembly ecr-doctor cannot read as cdk deploy would is one line and exit 2.
#[test]
fn an_assembly_not_read_is_one_line_and_exit_2() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cdk");
    for (dir, says) in [
        ("no-asset-manifest", "run `cdk synth`"),
        ("agnostic", "environment-agnostic"),
        ("nosuch", "run `cdk synth`"),
    ] {
        let mut cmd = doctor(None, &["check", "--offline", "--cdk-out", "cdk.out"]);
        cmd.current_dir(data.join(dir));
        if dir == "nosuch" {
            cmd.current_dir(&data);
        }
        let r = run(cmd);
        assert_eq!(r.code, 2, "{dir}: {}", r.stdout);
        assert_eq!(r.stderr.lines().count(), 1, "{dir}: {}", r.stderr);
        assert!(r.stderr.contains(says), "{dir}: {}", r.stderr);
    }
}
