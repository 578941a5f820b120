use std::collections::HashMap;

use super::*;
use crate::command::Disk;
use crate::command::tests::Overlay;

/// The assemblies `scripts/cdk-fixture` synthesized with the real aws-cdk CLI.
fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/cdk")
        .join(name)
        .join("cdk.out")
}

/// `plan` where the deploying credentials are `deploying`'s.
fn plan_with(
    dir: &Path,
    selection: &Selection,
    publisher: Publisher,
    deploying: Result<(&str, &str), &str>,
    files: &dyn Files,
) -> Result<CommandPlan, String> {
    let none = |_: &str| None;
    let deploying = || {
        deploying
            .map(|(a, r)| (a.to_string(), r.to_string()))
            .map_err(String::from)
    };
    let env = Env {
        var: &none,
        cwd: Path::new("/"),
        files,
        deploying: &deploying,
        local_image_id: &|_| Ok(None),
    };
    plan(dir, selection, publisher, &env).map_err(|e| e.to_string())
}

const NO_AWS: Result<(&str, &str), &str> = Err("no AWS credentials found");

fn all() -> Selection {
    Selection {
        all: true,
        ..Selection::default()
    }
}

fn assets(plan: &CommandPlan) -> Vec<(&str, &CdkAsset)> {
    plan.pushes
        .iter()
        .map(|(r, p)| match p {
            Pushed::CdkAsset(a) => (r.as_str(), a),
            other => panic!("not a CDK asset: {other:?}"),
        })
        .collect()
}

const REPO: &str = "111111111111.dkr.ecr.us-east-1.amazonaws.com/cdk-hnb659fds-container-assets-111111111111-us-east-1";
const WEB: &str = "3b7319a58a3cdbde76bdd65e70c1cb68ce9c8807995821e6337bf12fd06d5078";
const FUNCTION: &str = "d77cfa21843c5f98ed3d6aa28d9839406af2962fd55e80047124553aae1956da";

#[test]
fn a_synthesized_assembly_gives_each_image_destination_as_a_target() {
    let publisher = Some(("aws-cdk 2.1148.1".to_string(), true));
    let plan = plan_with(&data("app"), &all(), publisher, NO_AWS, &Disk).unwrap();
    assert_eq!(plan.command.path, PushPath::CdkAssets);
    let got = assets(&plan);
    assert_eq!(got.len(), 2);
    let (web_ref, web) = got[0];
    let (fn_ref, function) = got[1];
    assert_eq!(web_ref, format!("{REPO}:{WEB}"));
    assert_eq!(fn_ref, format!("{REPO}:{FUNCTION}"));
    assert_eq!(web.stack, "ImageStack");
    assert_eq!(
        web.assume_role_arn.as_deref(),
        Some(
            "arn:aws:iam::111111111111:role/cdk-hnb659fds-image-publishing-role-111111111111-us-east-1"
        )
    );
    assert!(web.build.platforms.is_empty());
    assert_eq!(function.build.platforms, ["linux/amd64"]);
    // Only the image a Lambda function runs is Lambda's.
    assert_eq!(web.consumer, None);
    assert_eq!(function.consumer, Some(Consumer::Lambda));
    assert_eq!(function.architecture.as_deref(), Some("x86_64"));
    assert_eq!(web.architecture, None);
    assert_eq!(function.no_default_attestations, Some(true));
    assert_eq!(function.publisher.as_deref(), Some("aws-cdk 2.1148.1"));
}

#[test]
fn an_environment_agnostic_stack_takes_the_deploying_credentials_account_and_region() {
    let deploying = Ok(("222222222222", "eu-central-1"));
    let plan = plan_with(&data("agnostic"), &all(), None, deploying, &Disk).unwrap();
    let got = assets(&plan);
    assert_eq!(
        got[0].0,
        format!(
            "222222222222.dkr.ecr.eu-central-1.amazonaws.com/cdk-hnb659fds-container-assets-222222222222-eu-central-1:{WEB}"
        )
    );
    assert_eq!(
        got[0].1.assume_role_arn.as_deref(),
        Some(
            "arn:aws:iam::222222222222:role/cdk-hnb659fds-image-publishing-role-222222222222-eu-central-1"
        )
    );
    assert_eq!(
        got[1].1.consumer,
        Some(Consumer::Lambda),
        "its function's ImageUri names it too"
    );
}

#[test]
fn a_custom_qualifier_names_its_own_repository() {
    let plan = plan_with(&data("qualifier"), &all(), None, NO_AWS, &Disk).unwrap();
    for (r, a) in assets(&plan) {
        assert!(
            r.starts_with("111111111111.dkr.ecr.us-east-1.amazonaws.com/cdk-custom1-container-assets-111111111111-us-east-1:"),
            "{r}"
        );
        assert!(
            a.assume_role_arn
                .as_deref()
                .unwrap()
                .contains("cdk-custom1-image-publishing-role")
        );
        assert_eq!(a.no_default_attestations, None, "no CLI found: not guessed");
    }
}

#[test]
fn what_is_not_known_from_the_assembly_is_an_error_not_a_guess() {
    let err = |name: &str| plan_with(&data(name), &all(), None, NO_AWS, &Disk).unwrap_err();
    let e = err("agnostic");
    assert!(
        e.contains("stack 'ImageStack' is environment-agnostic")
            && e.contains("no AWS credentials found"),
        "{e}"
    );
    let e = err("no-asset-manifest");
    assert!(
        e.contains("ImageStack.assets.json") && e.contains("run `cdk synth`"),
        "{e}"
    );
    let e = err("nosuch");
    assert!(
        e.contains("manifest.json") && e.contains("run `cdk synth`"),
        "{e}"
    );
}

/// An assembly in memory: `manifest.json` of `stacks` (name, dependencies), each with one image asset.
fn files(stacks: &[(&str, &[&str])]) -> HashMap<PathBuf, String> {
    let dir = Path::new("/a");
    let mut files = HashMap::new();
    let mut artifacts = serde_json::Map::new();
    for (name, deps) in stacks {
        let mut dependencies: Vec<String> = deps.iter().map(|d| d.to_string()).collect();
        dependencies.push(format!("{name}.assets"));
        artifacts.insert(
            format!("{name}.assets"),
            serde_json::json!({"type": "cdk:asset-manifest", "properties": {"file": format!("{name}.assets.json")}}),
        );
        artifacts.insert(
            name.to_string(),
            serde_json::json!({"type": "aws:cloudformation:stack", "environment": "aws://111111111111/eu-west-1",
                "displayName": name, "dependencies": dependencies}),
        );
        files.insert(
            dir.join(format!("{name}.assets.json")),
            serde_json::json!({"dockerImages": {format!("{name}hash"): {
                "source": {"directory": format!("asset.{name}")},
                "destinations": {"d": {"repositoryName": "cdk-x-container-assets-${AWS::AccountId}-${AWS::Region}",
                    "imageTag": format!("{name}hash"), "region": "eu-west-1"}}}}})
            .to_string(),
        );
        files.insert(
            dir.join(format!("asset.{name}/Dockerfile")),
            "FROM scratch\n".into(),
        );
    }
    files.insert(
        dir.join("manifest.json"),
        serde_json::json!({"version": "55.0.0", "artifacts": artifacts}).to_string(),
    );
    files
}

fn stacks_of(
    files: &HashMap<PathBuf, String>,
    patterns: &[&str],
    all: bool,
    exclusively: bool,
) -> Result<Vec<String>, String> {
    let files = Overlay::alone(files.clone());
    let selection = Selection {
        patterns: patterns.iter().map(|p| p.to_string()).collect(),
        all,
        exclusively,
    };
    let plan = plan_with(Path::new("/a"), &selection, None, NO_AWS, &files)?;
    let mut stacks: Vec<String> = assets(&plan).iter().map(|(_, a)| a.stack.clone()).collect();
    stacks.sort();
    Ok(stacks)
}

#[test]
fn stacks_are_chosen_as_cdk_deploy_chooses_them() {
    let app = files(&[("Api", &["Data"]), ("Data", &[]), ("Web", &[])]);
    let ok = |patterns: &[&str], all: bool, exclusively: bool| {
        stacks_of(&app, patterns, all, exclusively).unwrap()
    };
    assert_eq!(ok(&[], true, false), ["Api", "Data", "Web"]);
    assert_eq!(ok(&["Web"], false, false), ["Web"]);
    assert_eq!(
        ok(&["Api"], false, false),
        ["Api", "Data"],
        "a dependency's assets are published first"
    );
    assert_eq!(ok(&["Api"], false, true), ["Api"], "--exclusively");
    assert_eq!(ok(&["W*"], false, false), ["Web"]);
    let err = |patterns: &[&str]| stacks_of(&app, patterns, false, false).unwrap_err();
    assert!(
        err(&[]).contains("name the stacks to deploy or give --all"),
        "{}",
        err(&[])
    );
    assert!(err(&["Nope"]).contains("no stack matches 'Nope'"));
    assert!(err(&["W?b"]).contains("only `*` is read"));
    // One stack needs no name; its placeholders resolve from its environment.
    let one = files(&[("Solo", &[])]);
    assert_eq!(stacks_of(&one, &[], false, false).unwrap(), ["Solo"]);
}

#[test]
fn placeholders_resolve_from_the_stack_environment() {
    let app = Overlay::alone(files(&[("Solo", &[])]));
    let plan = plan_with(Path::new("/a"), &all(), None, NO_AWS, &app).unwrap();
    assert_eq!(
        plan.pushes[0].0.as_str(),
        "111111111111.dkr.ecr.eu-west-1.amazonaws.com/cdk-x-container-assets-111111111111-eu-west-1:Solohash"
    );
}

#[test]
fn commands_are_read_as_cdk_reads_them() {
    let cwd = data("app");
    let cwd = cwd.parent().unwrap();
    let none = |_: &str| None;
    let env = Env {
        var: &none,
        cwd,
        files: &Disk,
        deploying: &|| Err("no AWS here".into()),
        local_image_id: &|_| Ok(None),
    };
    let words = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
    let read =
        |program: &str, args: &str| parse(program, &words(args), &env).map_err(|e| e.to_string());
    assert_eq!(read("cdk", "deploy").unwrap().pushes.len(), 2);
    assert_eq!(
        read(
            "cdk",
            "deploy ImageStack --require-approval never --no-rollback"
        )
        .unwrap()
        .pushes
        .len(),
        2
    );
    assert_eq!(read("npx", "cdk deploy --all").unwrap().pushes.len(), 2);
    assert_eq!(read("cdk", "--app cdk.out deploy").unwrap().pushes.len(), 2);
    assert_eq!(
        read("cdk-assets", "-p cdk.out/ImageStack.assets.json publish")
            .unwrap()
            .pushes
            .len(),
        2
    );
    assert_eq!(
        read(
            "cdk-assets",
            &format!("-p cdk.out/ImageStack.assets.json publish {WEB}")
        )
        .unwrap()
        .pushes
        .len(),
        1
    );
    for (program, args, says) in [
        ("cdk", "synth", "'cdk synth' is not a push command"),
        ("cdk", "deploy -o elsewhere", "elsewhere/manifest.json"),
        ("npx", "serverless deploy", "only `npx cdk deploy` is read"),
        ("cdk-assets", "ls", "only `cdk-assets publish`"),
        ("cdk", "deploy --nosuch", "unknown flag: --nosuch"),
    ] {
        let e = read(program, args).unwrap_err();
        assert!(e.contains(says), "{program} {args}: {e}");
    }
    let podman = |k: &str| (k == "CDK_DOCKER").then(|| "podman".to_string());
    let e = parse(
        "cdk",
        &words("deploy"),
        &Env {
            var: &podman,
            cwd,
            files: &Disk,
            deploying: &|| Err("no AWS here".into()),
            local_image_id: &|_| Ok(None),
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("CDK_DOCKER=podman"), "{e}");
}

#[test]
fn the_publishing_cli_is_found_and_its_version_decides_the_attestation_switch() {
    let dir = tempfile::tempdir().unwrap();
    let package = dir.path().join("node_modules/aws-cdk/package.json");
    std::fs::create_dir_all(package.parent().unwrap()).unwrap();
    let none = |_: &str| None;
    let env = Env {
        var: &none,
        cwd: dir.path(),
        files: &Disk,
        deploying: &|| Err("no AWS here".into()),
        local_image_id: &|_| Ok(None),
    };
    assert_eq!(publisher(Cli::Npx, &env), None);
    for (version, sets) in [("2.178.2", false), ("2.1000.0", true), ("2.1148.1", true)] {
        std::fs::write(
            &package,
            format!(r#"{{"name":"aws-cdk","version":"{version}"}}"#),
        )
        .unwrap();
        assert_eq!(
            publisher(Cli::Npx, &env),
            Some((format!("aws-cdk {version}"), sets))
        );
    }
    // `cdk` on PATH: the package its bin belongs to.
    let bin = dir.path().join("node_modules/aws-cdk/bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(bin.join("cdk"), "#!/usr/bin/env node\n").unwrap();
    let path_dir = dir.path().join("path");
    std::fs::create_dir_all(&path_dir).unwrap();
    std::os::unix::fs::symlink(bin.join("cdk"), path_dir.join("cdk")).unwrap();
    let path = path_dir.display().to_string();
    let on_path = move |k: &str| (k == "PATH").then(|| path.clone());
    let elsewhere = tempfile::tempdir().unwrap();
    let env = Env {
        var: &on_path,
        cwd: elsewhere.path(),
        files: &Disk,
        deploying: &|| Err("no AWS here".into()),
        local_image_id: &|_| Ok(None),
    };
    assert_eq!(
        publisher(Cli::OnPath, &env),
        Some(("aws-cdk 2.1148.1".to_string(), true))
    );
}

/// The function's `Architectures` in the synthesized template decides what consumer-shape holds its image to.
#[test]
fn an_arm64_functions_architecture_is_read_from_the_template() {
    let template = data("app").join("ImageStack.template.json");
    let text = std::fs::read_to_string(&template).unwrap();
    let arm = Overlay::over_disk([(template, text.replace("\"x86_64\"", "\"arm64\""))]);
    let plan = plan_with(&data("app"), &all(), None, NO_AWS, &arm).unwrap();
    assert_eq!(assets(&plan)[1].1.architecture.as_deref(), Some("arm64"));
}
