use std::collections::HashMap;

use super::*;
use crate::command::tests::Overlay;
use crate::command::{Disk, Files};

/// The app `scripts/sam-fixture` built with the real `sam build` (aws-sam-cli 1.170.0).
fn app() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sam/app")
}

const HELLO_ID: &str = "sha256:43cabaab109d0123456789abcdef0123456789abcdef0123456789abcdef0123";
const ARM_ID: &str = "sha256:1e20df0108f1aaaabbbbccccddddeeeeffff00001111222233334444555566667";

fn deploy_in(cwd: &Path, args: &[&str], files: &dyn Files) -> Result<CommandPlan, String> {
    let none = |_: &str| None;
    let ids = |name: &str| {
        Ok(match name {
            "hellofunction:v1" => Some(HELLO_ID.to_string()),
            "armfunction:v1" => Some(ARM_ID.to_string()),
            _ => None,
        })
    };
    let argv: Vec<String> = std::iter::once("deploy")
        .chain(args.iter().copied())
        .map(String::from)
        .collect();
    parse(
        &argv,
        &Env {
            var: &none,
            cwd,
            files,
            deploying: &|| Err("no AWS here".into()),
            local_image_id: &ids,
        },
    )
    .map_err(|e| e.to_string())
}

fn deploy(args: &[&str]) -> Result<CommandPlan, String> {
    deploy_in(&app(), args, &Disk)
}

fn functions(plan: &CommandPlan) -> Vec<(String, String, String)> {
    plan.pushes
        .iter()
        .map(|(r, p)| match p {
            Pushed::SamImage(f) => (r.to_string(), f.function.clone(), f.architecture.clone()),
            other => panic!("not a SAM image: {other:?}"),
        })
        .collect()
}

#[test]
fn the_built_template_and_samconfig_give_each_image_function_its_repository_and_tag() {
    let plan = deploy(&[]).unwrap();
    assert_eq!(plan.command.path, PushPath::SamDeploy);
    assert_eq!(
        functions(&plan),
        [
            (
                "111111111111.dkr.ecr.us-east-1.amazonaws.com/hello:hellofunction-43cabaab109d-v1"
                    .into(),
                "HelloFunction".into(),
                "x86_64".into()
            ),
            (
                "111111111111.dkr.ecr.us-east-1.amazonaws.com/arm:armfunction-1e20df0108f1-v1"
                    .into(),
                "ArmFunction".into(),
                "arm64".into()
            ),
        ],
        "the zip function pushes nothing"
    );
    let Pushed::SamImage(f) = &plan.pushes[1].1 else {
        unreachable!()
    };
    assert_eq!(f.image, "armfunction:v1");
}

#[test]
fn config_env_flags_and_nargs_options() {
    let prod = deploy(&["--config-env", "prod"]).unwrap();
    assert!(
        prod.pushes.iter().all(|(r, _)| r
            .as_str()
            .starts_with("222222222222.dkr.ecr.eu-west-1.amazonaws.com/functions:")),
        "{prod:?}"
    );
    // Flags win over samconfig; SAM's multi-word options take every word up to the next option.
    let flagged = deploy(&[
        "--parameter-overrides",
        "Stage=prod",
        "Other=1",
        "--image-repositories",
        "HelloFunction=333333333333.dkr.ecr.us-west-2.amazonaws.com/hello",
        "--image-repositories=ArmFunction=333333333333.dkr.ecr.us-west-2.amazonaws.com/arm",
        "--capabilities",
        "CAPABILITY_IAM",
        "CAPABILITY_AUTO_EXPAND",
        "--no-confirm-changeset",
    ])
    .unwrap();
    assert_eq!(
        flagged.pushes[1].0.as_str(),
        "333333333333.dkr.ecr.us-west-2.amazonaws.com/arm:armfunction-1e20df0108f1-v1"
    );
    let one = deploy(&[
        "--config-file",
        "/nonexistent/samconfig.toml",
        "--image-repository",
        "444444444444.dkr.ecr.eu-central-1.amazonaws.com/all",
    ])
    .unwrap_err();
    assert!(
        one.contains("SAM config file '/nonexistent/samconfig.toml'"),
        "{one}"
    );
}

#[test]
fn what_sam_deploy_cannot_push_is_one_line_naming_why() {
    let fixture = app();
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        (
            "the source template: sam build not run",
            vec!["-t", "template.yaml"],
            "image function HelloFunction has no ImageUri: run `sam build`",
        ),
        (
            "a config file that is not there",
            vec!["--config-file", "none.toml"],
            "SAM config file",
        ),
        (
            "sam deploy --guided",
            vec!["--guided"],
            "asks for its repositories as it runs",
        ),
        (
            "an argument",
            vec!["extra"],
            "sam deploy takes no arguments, got 'extra'",
        ),
        (
            "an unknown flag",
            vec!["--no-such"],
            "unknown flag: --no-such",
        ),
    ];
    for (what, args, want) in cases {
        let err = deploy_in(&fixture, &args, &Disk).unwrap_err();
        assert!(err.contains(want), "{what}: {err}");
        assert!(!err.contains('\n'), "{what}: one line");
    }
    let none = |_: &str| None;
    let sync = parse(
        &["sync".to_string()],
        &Env {
            var: &none,
            cwd: &fixture,
            files: &Disk,
            deploying: &|| Err("no AWS here".into()),
            local_image_id: &|_| Ok(None),
        },
    )
    .unwrap_err();
    assert!(
        sync.to_string()
            .contains("'sam sync' builds each image itself")
    );
}

#[test]
fn a_missing_build_or_image_asks_for_sam_build() {
    // No .aws-sam and no template: nothing to read.
    let empty = tempfile::tempdir().unwrap();
    let err = deploy_in(empty.path(), &[], &Disk).unwrap_err();
    assert_eq!(
        err,
        "no .aws-sam/build/template.yaml (nor template.yaml): run `sam build` first"
    );
    // The template names an image the engine does not have (built on another machine, or removed).
    let built = app().join(".aws-sam/build/template.yaml");
    let text = std::fs::read_to_string(&built)
        .unwrap()
        .replace("armfunction:v1", "armfunction:v2");
    let files = Overlay::over_disk(HashMap::from([(built, text)]));
    let err = deploy_in(&app(), &[], &files).unwrap_err();
    assert!(
        err.contains("function ArmFunction's image 'armfunction:v2'")
            && err.ends_with("run `sam build`"),
        "{err}"
    );
}

#[test]
fn repositories_sam_resolves_itself_are_not_guessed() {
    let config = app().join("samconfig.toml");
    let files = Overlay::over_disk(HashMap::from([(
        config,
        "version = 0.1\n[default.deploy.parameters]\nresolve_image_repos = true\n".to_string(),
    )]));
    let err = deploy_in(&app(), &[], &files).unwrap_err();
    assert!(
        err.starts_with("--resolve-image-repos: function HelloFunction's repository is made by SAM's companion stack"),
        "{err}"
    );
    // SAM's companion stack names every function's repository: --image-repository is not used then.
    let err = deploy_in(
        &app(),
        &[
            "--image-repository",
            "111111111111.dkr.ecr.us-east-1.amazonaws.com/one",
        ],
        &files,
    )
    .unwrap_err();
    assert!(err.starts_with("--resolve-image-repos"), "{err}");
    let err = deploy_in(&app(), &["--config-env", "staging"], &Disk).unwrap_err();
    assert!(
        err.contains(
            "sam deploy needs --image-repository, --image-repositories or --resolve-image-repos"
        ),
        "{err}"
    );
}

#[test]
fn short_tags_globals_and_images_already_in_ecr() {
    let dir = Path::new("/sam-app");
    let template = "Globals:\n  Function:\n    Architectures: [arm64]\nResources:\n  \
        A:\n    Type: AWS::Serverless::Function\n    Properties:\n      PackageType: Image\n      \
        ImageUri: a:latest\n      Role: !GetAtt R.Arn\n      Environment:\n        Variables:\n          \
        X: !Sub '${AWS::Region}'\n  \
        B:\n    Type: AWS::Serverless::Function\n    Properties:\n      PackageType: Image\n      \
        ImageUri: 555555555555.dkr.ecr.us-east-1.amazonaws.com/b:1\n  \
        C:\n    Type: AWS::Lambda::Function\n    Properties:\n      PackageType: Image\n      \
        Architectures: [x86_64]\n      Code:\n        ImageUri: c\n  \
        D:\n    Type: AWS::Serverless::Function\n    Properties:\n      PackageType: Image\n      \
        ImageUri: !Ref Image\n";
    let files = Overlay::over_disk(HashMap::from([(
        dir.join(".aws-sam/build/template.yaml"),
        template.to_string(),
    )]));
    let none = |_: &str| None;
    let ids = |_: &str| Ok(Some(HELLO_ID.to_string()));
    let argv: Vec<String> = [
        "deploy",
        "--image-repository",
        "666666666666.dkr.ecr.us-east-1.amazonaws.com/repo",
    ]
    .map(String::from)
    .to_vec();
    let plan = parse(
        &argv,
        &Env {
            var: &none,
            cwd: dir,
            files: &files,
            deploying: &|| Err("no AWS here".into()),
            local_image_id: &ids,
        },
    )
    .unwrap();
    let r = "666666666666.dkr.ecr.us-east-1.amazonaws.com/repo";
    assert_eq!(
        functions(&plan),
        [
            (
                format!("{r}:a-43cabaab109d-latest"),
                "A".into(),
                "arm64".into()
            ),
            (
                format!("{r}:c-43cabaab109d-latest"),
                "C".into(),
                "x86_64".into()
            ),
        ],
        "B is in ECR already and D an intrinsic: SAM pushes neither"
    );
}

#[test]
fn the_remote_tag_is_sams_tag_translation() {
    assert_eq!(
        remote_tag("hellofunction:v1", HELLO_ID),
        "hellofunction-43cabaab109d-v1"
    );
    assert_eq!(remote_tag("fn", ARM_ID), "fn-1e20df0108f1-latest");
}

#[test]
fn a_repository_that_is_no_ecr_uri_is_refused_as_sam_refuses_it() {
    let err = deploy(&[
        "--image-repositories",
        "HelloFunction=docker.io/me/app",
        "--image-repositories",
        "ArmFunction=111111111111.dkr.ecr.us-east-1.amazonaws.com/arm",
    ])
    .unwrap_err();
    assert_eq!(
        err,
        "function HelloFunction's repository 'docker.io/me/app': not an ECR repository URI \
         (ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME), which sam deploy refuses too"
    );
}

#[test]
fn a_nested_stack_is_refused_rather_than_left_unchecked() {
    let dir = Path::new("/sam-app");
    let files = Overlay::over_disk(HashMap::from([(
        dir.join(".aws-sam/build/template.yaml"),
        "Resources:\n  Child:\n    Type: AWS::Serverless::Application\n    Properties:\n      \
         Location: child/template.yaml\n"
            .to_string(),
    )]));
    let err = deploy_in(dir, &[], &files).unwrap_err();
    assert_eq!(
        err,
        "/sam-app/.aws-sam/build/template.yaml: nested stack Child is not read yet: its image functions would \
         go unchecked"
    );
}
