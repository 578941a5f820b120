use super::*;
use crate::command::tests::Overlay;

fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

fn resolve_in(
    dir: &Path,
    files: &[&str],
    targets: &[&str],
    sets: &[&str],
    env: &[(&str, &str)],
) -> Result<Vec<BakeTarget>, String> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let lookup = move |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    resolve(&BakeInput {
        files: &s(files),
        targets: &s(targets),
        sets: &s(sets),
        push: false,
        load: false,
        cwd: dir,
        env: &lookup,
        fs: &crate::command::Disk,
    })
    .map_err(|e| e.to_string())
}

fn outputs(specs: &[&str]) -> Vec<Output> {
    specs.iter().map(|s| Output::parse(s).unwrap()).collect()
}

const HCL: &str = r#"
variable "REGISTRY" {
  default = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
}
variable "TAG" {
  default = "dev"
}
group "default" {
  targets = ["all"]
}
group "all" {
  targets = ["api", "worker"]
}
target "_common" {
  platforms = ["linux/amd64", "linux/arm64"]
  attest = ["type=provenance,mode=max"]
  cache-to = ["type=registry,ref=${REGISTRY}/cache:${TAG},image-manifest=true"]
}
target "api" {
  inherits = ["_common"]
  tags = ["${REGISTRY}/api:${TAG}", "${REGISTRY}/api:${lower("LATEST")}"]
  args = { A = "1" }
}
target "worker" {
  inherits = ["_common"]
  tags = ["${REGISTRY}/worker:${TAG}"]
  platforms = ["linux/amd64"]
  output = ["type=registry"]
}
"#;

#[test]
fn hcl_variables_groups_and_inherits() {
    let dir = dir_with(&[("docker-bake.hcl", HCL)]);
    let got = resolve_in(dir.path(), &[], &[], &[], &[("TAG", "v7")]).unwrap();
    let names: Vec<&str> = got.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["api", "worker"]);
    let r = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
    assert_eq!(
        got[0].tags,
        [format!("{r}/api:v7"), format!("{r}/api:latest")]
    );
    assert_eq!(got[0].platforms, ["linux/amd64", "linux/arm64"]);
    assert_eq!(got[0].attest, ["type=provenance,mode=max"]);
    assert_eq!(
        got[0].cache_to,
        [format!(
            "type=registry,ref={r}/cache:v7,image-manifest=true"
        )]
    );
    // A child's own list replaces its parent's.
    assert_eq!(got[1].platforms, ["linux/amd64"]);
    assert_eq!(got[1].output, outputs(&["type=registry"]));
}

#[test]
fn set_overrides_by_name_and_glob_and_appends() {
    let dir = dir_with(&[("docker-bake.hcl", HCL)]);
    let got = resolve_in(
        dir.path(),
        &["docker-bake.hcl"],
        &["api", "worker"],
        &[
            "*.output=type=registry",
            "api.tags=a:1,a:2",
            "work*.platform=linux/arm64",
            "api.attest+=type=sbom",
            "api.args.X=ignored",
        ],
        &[],
    )
    .unwrap();
    assert_eq!(got[0].tags, ["a:1", "a:2"]);
    assert_eq!(got[0].output, outputs(&["type=registry"]));
    assert_eq!(got[0].attest, ["type=provenance,mode=max", "type=sbom"]);
    assert_eq!(got[1].platforms, ["linux/arm64"]);
    assert!(
        resolve_in(dir.path(), &[], &["api"], &["nodot=1"], &[])
            .unwrap_err()
            .contains("--set 'nodot=1'")
    );
}

#[test]
fn json_and_default_file_merge_order() {
    let json = r#"{
      "variable": {"TAG": {"default": "j1"}},
      "group": {"default": {"targets": ["app"]}},
      "target": {"app": {"tags": ["repo/app:${TAG}"], "platforms": ["linux/amd64"]}}
    }"#;
    // docker-bake.hcl comes after docker-bake.json: its tags win, the JSON's platforms stay.
    let hcl = r#"target "app" { tags = ["repo/app:from-hcl"] }"#;
    let dir = dir_with(&[("docker-bake.json", json), ("docker-bake.hcl", hcl)]);
    let got = resolve_in(dir.path(), &[], &[], &[], &[]).unwrap();
    assert_eq!(got[0].tags, ["repo/app:from-hcl"]);
    assert_eq!(got[0].platforms, ["linux/amd64"]);
    let dir = dir_with(&[("x.json", json)]);
    let got = resolve_in(dir.path(), &["x.json"], &[], &[], &[("TAG", "env")]).unwrap();
    assert_eq!(got[0].tags, ["repo/app:env"]);
}

#[test]
fn compose_services_with_a_build() {
    let compose = r#"
services:
  web:
    image: ${REGISTRY:-123456789012.dkr.ecr.eu-west-1.amazonaws.com}/web:${TAG-v1}
    build:
      context: .
      tags: ["extra/web:1"]
      platforms: [linux/amd64, linux/arm64]
      cache_to: ["type=registry,ref=cache/web"]
      x-bake:
        output: type=registry
        attest: type=sbom
  db:
    image: postgres:16
"#;
    let dir = dir_with(&[("compose.yaml", compose)]);
    let got = resolve_in(dir.path(), &[], &[], &[], &[]).unwrap();
    assert_eq!(got.len(), 1, "only services with a build: {got:?}");
    assert_eq!(got[0].name, "web");
    assert_eq!(
        got[0].tags,
        [
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:v1",
            "extra/web:1"
        ]
    );
    assert_eq!(got[0].platforms, ["linux/amd64", "linux/arm64"]);
    assert_eq!(got[0].cache_to, ["type=registry,ref=cache/web"]);
    assert_eq!(got[0].output, outputs(&["type=registry"]));
    assert_eq!(got[0].attest, ["type=sbom"]);
    let got = resolve_in(
        dir.path(),
        &[],
        &[],
        &[],
        &[("REGISTRY", "r.example"), ("TAG", "")],
    )
    .unwrap();
    assert_eq!(got[0].tags[0], "r.example/web:");
}

#[test]
fn errors_name_the_part() {
    let dir = dir_with(&[
        (
            "cycle.hcl",
            "group \"a\" {\n  targets = [\"b\"]\n}\ngroup \"b\" {\n  targets = [\"a\"]\n}\n",
        ),
        ("func.hcl", r#"target "t" { tags = [timestamp()] }"#),
        ("broken.hcl", "target \"t\" {\n  tags = [\n"),
        ("inherit.hcl", r#"target "t" { inherits = ["nope"] }"#),
        ("zero.hcl", "target \"t\" {\n  tags = [\"a:${1 % 0}\"]\n}\n"),
    ]);
    for (files, targets, says) in [
        (&["cycle.hcl"][..], &["a"][..], "cycle"),
        (&["func.hcl"], &["t"], "func.hcl: target \"t\": tags"),
        (&["func.hcl"], &["t"], "timestamp"),
        (&["broken.hcl"], &["t"], "broken.hcl"),
        (&["inherit.hcl"], &["t"], "\"nope\""),
        (
            &["zero.hcl"],
            &["t"],
            "zero.hcl: target \"t\": tags: the expression cannot be evaluated",
        ),
        (&["cycle.hcl"], &["missing"], "\"missing\" is not defined"),
        (&["nothere.hcl"], &[], "nothere.hcl"),
        (&["https://example.com/bake.hcl"], &[], "remote"),
    ] {
        let e = resolve_in(dir.path(), files, targets, &[], &[]).unwrap_err();
        assert!(e.contains(says), "{files:?}: {e}");
        assert!(!e.contains('\n'), "one line: {e}");
    }
    let empty = tempfile::tempdir().unwrap();
    let e = resolve_in(empty.path(), &[], &[], &[], &[]).unwrap_err();
    assert!(e.contains("no bake file"), "{e}");
}

#[test]
fn push_and_load_follow_bake() {
    let hcl = "target \"img\" {\n  tags = [\"r/img:1\"]\n}\ntarget \"files\" {\n  tags = [\"r/files:1\"]\n  output = [\"type=local,dest=out\"]\n}\ntarget \"both\" {\n  tags = [\"r/both:1\"]\n  output = [\"type=docker\", \"type=image,name=r/both:2\"]\n}\n";
    let dir = dir_with(&[("docker-bake.hcl", hcl)]);
    let got = resolve_in(
        dir.path(),
        &[],
        &["img", "files", "both"],
        &["*.push=true"],
        &[],
    )
    .unwrap();
    // No output: one that pushes is added. A local output pushes nothing. An image output is pushed.
    assert_eq!(got[0].output, outputs(&["type=image,push=true"]));
    assert_eq!(got[1].output, outputs(&["type=local,dest=out"]));
    assert_eq!(
        got[2].output,
        outputs(&["type=docker", "type=image,name=r/both:2,push=true"])
    );
    let got = resolve_in(
        dir.path(),
        &[],
        &["img"],
        &["*.load=true", "*.push=true"],
        &[],
    )
    .unwrap();
    assert_eq!(
        got[0].output,
        outputs(&["type=docker", "type=image,push=true"])
    );
    let e = resolve_in(dir.path(), &[], &["img"], &["*.push=maybe"], &[]).unwrap_err();
    assert!(e.contains("true or false"), "{e}");
}

#[test]
fn format_and_formatlist_build_tags() {
    let vars = r#"
variable "REGISTRIES" {
  default = ["a.example", "b.example"]
}
variable "TAG" {
  default = "v1"
}
"#;
    let read = |targets: &str, names: &[&str]| {
        let dir = dir_with(&[("docker-bake.hcl", &format!("{vars}{targets}"))]);
        resolve_in(dir.path(), &[], names, &[], &[])
    };
    let got = read(
        r#"
target "app" {
  tags = formatlist("%s/app:%s", REGISTRIES, TAG)
}
target "one" {
  tags = [format("%s/one:%d%%", "c.example", 7)]
}
"#,
        &["app", "one"],
    )
    .unwrap();
    assert_eq!(got[0].tags, ["a.example/app:v1", "b.example/app:v1"]);
    assert_eq!(got[1].tags, ["c.example/one:7%"]);
    // A function not read here is named, not guessed.
    let e = read(
        "target \"app\" {\n  tags = concat(formatlist(\"%s/app\", REGISTRIES), [\"x\"])\n}\n",
        &["app"],
    )
    .unwrap_err();
    assert!(e.contains("concat"), "{e}");
}

#[test]
fn the_environment_overrides_variables_not_top_level_attributes() {
    let hcl = "REPO = \"r.example/app\"\nvariable \"TAG\" {\n  default = \"v1\"\n}\ntarget \"app\" {\n  tags = [\"${REPO}:${TAG}\"]\n}\n";
    let dir = dir_with(&[("docker-bake.hcl", hcl)]);
    let got = resolve_in(
        dir.path(),
        &[],
        &["app"],
        &[],
        &[("REPO", "other"), ("TAG", "v2")],
    )
    .unwrap();
    assert_eq!(got[0].tags, ["r.example/app:v2"]);
}

#[test]
fn default_files_merge_in_bakes_order_without_a_disk() {
    let fs = Overlay::alone([
        (
            "/p/compose.yaml".into(),
            "services:\n  api:\n    build: .\n    image: r/api:compose\n".into(),
        ),
        (
            "/p/docker-bake.hcl".into(),
            "target \"api\" {\n  tags = [\"r/api:hcl\"]\n  output = [\"type=registry\"]\n}\n"
                .into(),
        ),
    ]);
    let input = |files: &'static [String]| BakeInput {
        files,
        targets: &[],
        sets: &[],
        push: false,
        load: true,
        cwd: Path::new("/p"),
        env: &|_| None,
        fs: &fs,
    };
    let got = resolve(&input(&[])).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].tags, ["r/api:hcl"], "the later file wins");
    assert_eq!(got[0].output, outputs(&["type=registry", "type=docker"]));

    static MISSING: std::sync::LazyLock<Vec<String>> =
        std::sync::LazyLock::new(|| vec!["nope.hcl".to_string()]);
    let e = resolve(&input(&MISSING)).unwrap_err();
    assert!(
        matches!(&e, CommandError::File { what: "bake file", path, .. } if path == Path::new("nope.hcl")),
        "{e:?}"
    );
}
