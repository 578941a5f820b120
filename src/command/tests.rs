use std::collections::HashMap;
use std::path::PathBuf;

use super::*;

/// Files held in memory, over the disk or over nothing: a command read without writing a file.
pub(super) struct Overlay {
    files: HashMap<PathBuf, String>,
    disk: bool,
}

impl Overlay {
    /// Only these files: the disk is not read.
    pub(super) fn alone(files: impl IntoIterator<Item = (PathBuf, String)>) -> Overlay {
        Overlay {
            files: files.into_iter().collect(),
            disk: false,
        }
    }

    /// These files, then the disk: a variant of a fixture on disk.
    pub(super) fn over_disk(files: impl IntoIterator<Item = (PathBuf, String)>) -> Overlay {
        Overlay {
            disk: true,
            ..Overlay::alone(files)
        }
    }
}

impl Files for Overlay {
    fn read(&self, path: &Path, budget: crate::input::Budget) -> io::Result<String> {
        match self.files.get(path) {
            Some(text) => Ok(text.clone()),
            None if self.disk => Disk.read(path, budget),
            None => Err(io::ErrorKind::NotFound.into()),
        }
    }

    fn exists(&self, path: &Path) -> bool {
        self.files.contains_key(path) || (self.disk && Disk.exists(path))
    }
}

const ECR: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";

fn args(s: &[&str]) -> Vec<String> {
    s.iter().map(|a| a.replace("ECR", ECR)).collect()
}

fn read_in(argv: &[&str], vars: &[(&str, &str)], cwd: &Path) -> Result<CommandPlan, String> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let lookup = move |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    parse(
        &args(argv),
        &Env {
            var: &lookup,
            cwd,
            files: &Disk,
            deploying: &|| Err("no AWS here".into()),
            local_image_id: &|_| Ok(None),
        },
    )
    .map_err(|e| e.to_string())
}

fn read(argv: &[&str]) -> Result<CommandPlan, String> {
    read_in(argv, &[], Path::new("."))
}

/// `read` of a command written as one line (no argument holds a space).
fn read_words(line: &str) -> Result<CommandPlan, String> {
    read(&line.split_whitespace().collect::<Vec<_>>())
}

fn refs(plan: &CommandPlan) -> Vec<String> {
    plan.pushes
        .iter()
        .map(|(r, _)| r.as_str().replace(ECR, "ECR"))
        .collect()
}

fn image(plan: &CommandPlan, i: usize) -> &BuildOutput {
    match &plan.pushes[i].1 {
        Pushed::Build(b) => b,
        other => panic!("not a build output: {other:?}"),
    }
}

#[test]
fn docker_push_and_image_push() {
    for argv in [
        &["docker", "push", "ECR/app:v1"][..],
        &["docker", "image", "push", "ECR/app:v1"],
        &[
            "/usr/bin/docker",
            "--debug",
            "push",
            "--quiet",
            "ECR/app:v1",
        ],
        &[
            "docker",
            "push",
            "--disable-content-trust=true",
            "ECR/app:v1",
        ],
    ] {
        let plan = read(argv).unwrap();
        assert_eq!(plan.command.path, PushPath::DockerPush, "{argv:?}");
        assert_eq!(refs(&plan), ["ECR/app:v1"], "{argv:?}");
        assert_eq!(plan.pushes[0].1, Pushed::LocalImage);
    }
    assert!(
        read_words("docker push")
            .unwrap_err()
            .contains("one image reference")
    );
    assert!(
        read_words("docker push -a ECR/app")
            .unwrap_err()
            .contains("--all-tags")
    );
}

#[test]
fn build_push_tags_repeated_and_in_every_spelling() {
    let plan = read_words("docker buildx build --push -t ECR/app:v1 --tag=ECR/app:latest -tECR/app:v2 -t=ECR/other:v1 .")
    .unwrap();
    assert_eq!(plan.command.path, PushPath::Build);
    assert_eq!(
        refs(&plan),
        ["ECR/app:v1", "ECR/app:latest", "ECR/app:v2", "ECR/other:v1"]
    );
    // Flags after the context, as pflag allows.
    let plan = read_words("docker build . --push -t ECR/app:v1").unwrap();
    assert_eq!(plan.command.path, PushPath::Build);
    assert_eq!(refs(&plan), ["ECR/app:v1"]);
    // A tag given twice is pushed once.
    let plan = read_words("docker buildx build --push -t ECR/app:v1 -t ECR/app:v1 .").unwrap();
    assert_eq!(plan.pushes.len(), 1);
}

#[test]
fn build_reads_platforms_attestations_and_outputs() {
    let plan = read_words("docker buildx build --platform linux/amd64,linux/arm64 --platform=linux/arm/v7 --provenance=false --sbom true -o type=image,push=true,oci-artifact=true -t ECR/app:v1 -f Dockerfile.prod --build-arg TOKEN=s3cret .")
    .unwrap();
    let b = image(&plan, 0);
    assert_eq!(b.platforms, ["linux/amd64", "linux/arm64", "linux/arm/v7"]);
    assert_eq!(b.provenance, Some(false));
    assert!(b.sbom);
    assert_eq!(b.oci_artifact, Some(true));
    // The build argument's value is not recorded.
    let argv = plan.command.argv.join(" ");
    assert!(
        argv.contains("TOKEN=…") && !argv.contains("s3cret"),
        "{argv}"
    );

    // buildx's default provenance, and the forms that turn it on or off.
    for (flags, want) in [
        (&[][..], None),
        (&["--provenance", "mode=max"], Some(true)),
        (&["--provenance=0"], Some(false)),
        (&["--attest", "type=provenance,disabled=true"], Some(false)),
        (&["--attest=type=provenance,mode=min"], Some(true)),
    ] {
        let mut argv = vec!["docker", "buildx", "build", "--push", "-t", "ECR/app:v1"];
        argv.extend_from_slice(flags);
        argv.push(".");
        assert_eq!(
            image(&read(&argv).unwrap(), 0).provenance,
            want,
            "{flags:?}"
        );
    }
}

#[test]
fn output_names_quoted_csv_and_registry_type() {
    let plan = read(&[
        "docker",
        "buildx",
        "build",
        "--output",
        r#"type=image,"name=ECR/aa:v1,ECR/bb:v1",push=true"#,
        ".",
    ])
    .unwrap();
    assert_eq!(refs(&plan), ["ECR/aa:v1", "ECR/bb:v1"]);
    let plan = read_words("docker buildx build -o type=registry -t ECR/aa:v1 .").unwrap();
    assert_eq!(refs(&plan), ["ECR/aa:v1"]);
    // An image output without push=true, a local or docker output: nothing pushed.
    for o in [
        "type=image",
        "type=image,push=false",
        "type=docker",
        "./out",
        "type=local,dest=out",
    ] {
        let e = read(&["docker", "buildx", "build", "-o", o, "-t", "ECR/aa:v1", "."]).unwrap_err();
        assert!(e.contains("pushes nothing"), "{o}: {e}");
    }
    let e = read_words("docker buildx build --load -t ECR/aa:v1 .").unwrap_err();
    assert!(e.contains("pushes nothing"), "{e}");
}

#[test]
fn registry_cache_exports_are_pushes() {
    let plan = read_words("docker buildx build --push -t ECR/app:v1 --cache-to type=registry,ref=ECR/app:cache,mode=max,image-manifest=true,oci-mediatypes=true --cache-to type=inline --cache-to ECR/app:cache2 .")
    .unwrap();
    assert_eq!(
        refs(&plan),
        ["ECR/app:v1", "ECR/app:cache", "ECR/app:cache2"]
    );
    let Pushed::Cache(c) = &plan.pushes[1].1 else {
        panic!("{:?}", plan.pushes[1])
    };
    assert!(c.image_manifest && c.oci_mediatypes);
    let Pushed::Cache(c) = &plan.pushes[2].1 else {
        panic!("{:?}", plan.pushes[2])
    };
    assert!(
        !c.image_manifest,
        "a bare reference is a registry cache with defaults"
    );
}

#[test]
fn builder_from_buildx_or_build_flag() {
    let plan = read_words("docker buildx --builder ci build --push -t ECR/aa:v1 .").unwrap();
    assert_eq!(plan.command.builder.as_deref(), Some("ci"));
    let plan = read_words("docker buildx build --builder=other --push -t ECR/aa:v1 .").unwrap();
    assert_eq!(plan.command.builder.as_deref(), Some("other"));
}

#[test]
fn non_ecr_references_are_listed_not_checked() {
    let plan =
        read_words("docker buildx build --push -t ECR/app:v1 -t ghcr.io/me/app:v1 -t app:v1 .")
            .unwrap();
    assert_eq!(refs(&plan), ["ECR/app:v1"]);
    assert_eq!(plan.command.not_checked, ["ghcr.io/me/app:v1", "app:v1"]);
}

#[test]
fn imagetools_create() {
    let plan =
        read_words("docker buildx imagetools create -t ECR/app:v1 ECR/app:amd64 ECR/app:arm64")
            .unwrap();
    assert_eq!(plan.command.path, PushPath::ImagetoolsCreate);
    assert_eq!(refs(&plan), ["ECR/app:v1"]);
    assert_eq!(
        plan.pushes[0].1,
        Pushed::Index {
            sources: args(&["ECR/app:amd64", "ECR/app:arm64"]),
            prefer_index: None,
        }
    );
    let copy = read_words(
        "docker buildx imagetools create --prefer-index=false -t ECR/app:v1 ECR/app:amd64",
    )
    .unwrap();
    assert_eq!(
        copy.pushes[0].1,
        Pushed::Index {
            sources: args(&["ECR/app:amd64"]),
            prefer_index: Some(false),
        }
    );
    assert!(read_words("docker buildx imagetools create --dry-run -t ECR/aa:v1 x").is_err());
}

#[test]
fn unreadable_commands_name_the_part() {
    for (argv, says) in [
        (&["podman", "push", "x"][..], "'podman'"),
        (&["docker", "run", "x"], "'docker run x'"),
        (
            &["docker", "buildx", "build", "--frobnicate", "."],
            "--frobnicate",
        ),
        (
            &["docker", "buildx", "build", "--push", "-t"],
            "flag needs an argument",
        ),
        (
            &["docker", "buildx", "build", "--push", "-t", "ECR/aa:v1"],
            "one build context",
        ),
        (
            &["docker", "buildx", "build", "--push=maybe", "."],
            "\"maybe\"",
        ),
        (
            &["docker", "-H", "tcp://x:2375", "push", "ECR/aa:v1"],
            "DOCKER_HOST",
        ),
        (
            &["docker", "buildx", "build", "--push", "."],
            "names no image",
        ),
        (
            &[
                "docker",
                "buildx",
                "build",
                "-o",
                "type=image,push=true,push-by-digest=true",
                ".",
            ],
            "push-by-digest",
        ),
        (&[], "no command"),
    ] {
        let e = read(argv).unwrap_err();
        assert!(e.contains(says), "{argv:?}: {e}");
        assert!(!e.contains('\n'), "one line: {e}");
    }
    let e = read_in(
        &["docker", "build", "--push", "-t", "ECR/aa:v1", "."],
        &[("DOCKER_BUILDKIT", "0")],
        Path::new("."),
    )
    .unwrap_err();
    assert!(e.contains("legacy builder"), "{e}");
}

#[test]
fn a_bad_ecr_reference_stops_the_read_naming_its_bad_part() {
    // It names ECR, so it is refused (exit 2), not silently left out as another registry's.
    let e = read_words("docker push ECR/App:v1").unwrap_err();
    assert!(e.contains("'App': not a valid ECR repository name"), "{e}");
}

#[test]
fn bake_push_reads_the_file_and_its_targets() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("docker-bake.hcl"),
        format!(
            r#"
variable "TAG" {{
  default = "v1"
}}
group "default" {{
  targets = ["api", "web", "docs"]
}}
target "api" {{
  tags = ["{ECR}/api:${{TAG}}", "ghcr.io/acme/api:${{TAG}}"]
  platforms = ["linux/amd64", "linux/arm64"]
  cache-to = ["type=registry,ref={ECR}/api:cache"]
}}
target "web" {{
  tags = ["{ECR}/web:${{TAG}}"]
}}
target "docs" {{
  tags = ["{ECR}/docs:${{TAG}}"]
  output = ["type=local,dest=site"]
}}
"#
        ),
    )
    .unwrap();
    let plan = read_in(
        &["docker", "buildx", "bake", "--push", "--provenance=false"],
        &[("TAG", "v2")],
        dir.path(),
    )
    .unwrap();
    assert_eq!(plan.command.path, PushPath::Bake);
    assert_eq!(refs(&plan), ["ECR/api:v2", "ECR/api:cache", "ECR/web:v2"]);
    assert_eq!(plan.command.not_checked, ["ghcr.io/acme/api:v2"]);
    let api = image(&plan, 0);
    assert_eq!(api.bake_target.as_deref(), Some("api"));
    assert_eq!(api.platforms, ["linux/amd64", "linux/arm64"]);
    assert_eq!(api.provenance, Some(false));
    assert!(matches!(plan.pushes[1].1, Pushed::Cache(_)));

    // One target, pushed through --set instead of --push.
    let plan = read_in(
        &[
            "docker",
            "buildx",
            "bake",
            "web",
            "--set",
            "web.output=type=registry",
        ],
        &[],
        dir.path(),
    )
    .unwrap();
    assert_eq!(refs(&plan), ["ECR/web:v1"]);

    for (argv, says) in [
        // The cache export still pushes without --push; `web` has none.
        (&["docker", "buildx", "bake", "web"][..], "pushes nothing"),
        (
            &["docker", "buildx", "bake", "--print", "--push"],
            "--print",
        ),
        (&["docker", "buildx", "bake", "--push", "nope"], "\"nope\""),
    ] {
        let e = read_in(argv, &[], dir.path()).unwrap_err();
        assert!(e.contains(says), "{argv:?}: {e}");
    }
}

#[test]
fn bake_overrides_of_arguments_and_secrets_are_not_recorded() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("docker-bake.hcl"),
        format!("target \"app\" {{\n  tags = [\"{ECR}/app:v1\"]\n}}\n"),
    )
    .unwrap();
    let plan = read_in(
        &[
            "docker",
            "buildx",
            "bake",
            "app",
            "--push",
            "--set",
            "app.args.TOKEN=s3cret",
            "--set=app.secret=id=x,env=TOKEN",
            "--set",
            "*.platform=linux/amd64",
        ],
        &[],
        dir.path(),
    )
    .unwrap();
    let argv = plan.command.argv.join(" ");
    assert!(
        !argv.contains("s3cret") && !argv.contains("env=TOKEN"),
        "{argv}"
    );
    assert!(
        argv.contains("app.args.TOKEN=…") && argv.contains("*.platform=linux/amd64"),
        "{argv}"
    );
}

proptest::proptest! {
    /// Any command line, of real flags and odd values alike, is read or refused in one line: never a panic.
    #[test]
    fn any_command_is_read_or_refused_in_one_line(
        words in proptest::collection::vec(
            proptest::sample::select(vec![
                "docker", "buildx", "build", "bake", "push", "image", "imagetools", "create", "--push",
                "--load", "-t", "--tag=ECR/aa:v1", "ECR/aa:v1", "ECR/A:v1", "ghcr.io/x/y:1", "-o",
                "type=registry", "type=image,\"name=ECR/bb:1,ECR/c:2\",push=true", "\"unclosed", "--platform",
                "linux/amd64,linux/arm64", "--provenance", "false", "mode=max", "--cache-to",
                "type=registry,ref=ECR/aa:cache", "--set", "*.push=true", "*.tags", "-f", "--builder", "x",
                "--", "-", ".", "-qD", "=", "",
            ]),
            0..14,
        )
    ) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("docker-bake.hcl"),
            format!("target \"default\" {{\n  tags = [\"{ECR}/bake:v1\"]\n}}\n"),
        )
        .unwrap();
        if let Err(e) = read_in(&words, &[], dir.path()) {
            proptest::prop_assert!(!e.contains('\n'), "{e}");
        }
    }
}

#[test]
fn builder_names_are_the_ones_buildx_accepts() {
    for ok in ["default", "ci", "My_Builder-2.x"] {
        assert!(valid_builder_name(ok), "{ok}");
    }
    for bad in ["", "/etc/passwd", "../x", "2nd", "_x", "a b", "a/b", "é"] {
        assert!(!valid_builder_name(bad), "{bad}");
    }
}
