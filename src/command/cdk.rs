//! `cdk deploy [STACKS…]` (also through `npx`), `cdk-assets publish` and `check --cdk-out DIR`: the image assets of
//! a cloud assembly, each destination a target pushed the way cdk-assets pushes it.
//!
//! What cdk-assets does, read in aws/aws-cdk-cli (https://github.com/aws/aws-cdk-cli) at 7ff50e77:
//! - packages/@aws-cdk/cdk-assets-lib/lib/private/handlers/container-images.ts: per destination it resolves
//!   `${AWS::AccountId}`/`${AWS::Region}`/`${AWS::Partition}` (lines 123-124, placeholders.ts), takes an ECR client
//!   as the destination's `assumeRoleArn` (line 124, client-options.ts: the image-publishing role), finds the
//!   repository (127-132), and when the tag is already there (DescribeImages, 153-165, 270-283) builds and pushes
//!   nothing (34-36, 80-82) — `cdk deploy --force` does not change that. Otherwise it builds the local image
//!   `cdkasset-ID` unless that image exists (189-201), `docker tag`s it as the ECR reference (63) and pushes it
//!   (113-115).
//! - lib/private/docker.ts: `docker login` with an ECR token of that role (148-163), `docker build --build-arg …
//!   --tag cdkasset-ID [--target] [--file] [--network] [--platform] [--output=…] [--cache-from/--cache-to] .` run
//!   with `BUILDX_NO_DEFAULT_ATTESTATIONS=1` over the caller's environment (105-143), `docker tag`, `docker push
//!   REF` (188-192); `docker` is `$CDK_DOCKER` when set (332-334).
//! - The `BUILDX_NO_DEFAULT_ATTESTATIONS=1` is in the npm tarballs of aws-cdk 2.1000.0 and cdk-assets 3.0.0, not in
//!   aws-cdk 2.178.2's: older CLIs build with whatever this shell sets.
//! - packages/aws-cdk/lib/api/bootstrap/bootstrap-template.yaml lines 256-282: the bootstrap's
//!   `cdk-QUALIFIER-container-assets-ACCOUNT-REGION` repository has `ImageTagMutability: IMMUTABLE`.

use std::io;
use std::path::{Path, PathBuf};

use ecr_doctor_checks::TargetRef;
use ecr_doctor_checks::facts::{BuildOutput, CdkAsset, Consumer, PushPath, Pushed};
use ecr_doctor_checks::mutability::glob_full_match;
use ecr_doctor_checks::version::EngineVer;
use serde_json::Value;

use super::flags::{self, Flag};
use super::{CommandError, CommandPlan, Env, Files};
use crate::input::CLOUD_ASSEMBLY_FILE;

/// The programs read here.
pub fn reads(program: &str) -> bool {
    matches!(program, "cdk" | "npx" | "cdk-assets")
}

/// A file of the assembly, a Dockerfile beside it or a package.json.
fn read(files: &dyn Files, path: &Path) -> io::Result<String> {
    files.read(path, CLOUD_ASSEMBLY_FILE)
}

/// `cdk …`, `npx [cdk|aws-cdk] …`, `cdk-assets …`.
pub fn parse(program: &str, args: &[String], env: &Env<'_>) -> Result<CommandPlan, CommandError> {
    docker_client(env)?;
    let (cli, args) = match program {
        "npx" => {
            let at = args
                .iter()
                .position(|a| {
                    !matches!(
                        a.as_str(),
                        "-y" | "--yes" | "--no" | "--no-install" | "-q" | "--quiet"
                    )
                })
                .unwrap_or(args.len());
            match args.get(at).map(String::as_str) {
                Some("cdk" | "aws-cdk") => (Cli::Npx, &args[at + 1..]),
                Some(other) => {
                    return Err(CommandError::NotRead(format!(
                        "'npx {other}': only `npx cdk deploy` is read of npx"
                    )));
                }
                None => return Err(CommandError::NotRead("npx without a command".into())),
            }
        }
        "cdk-assets" => return cdk_assets(args, env),
        _ => (Cli::OnPath, args),
    };
    let p = flags::parse(&yargs_negations(args, CDK_FLAGS), CDK_FLAGS, false)?;
    match p.args.first().map(String::as_str) {
        Some("deploy") => {}
        Some(other) => {
            return Err(CommandError::not_a_push(
                &format!("cdk {other}"),
                "cdk deploy, cdk-assets publish",
            ));
        }
        None => {
            return Err(CommandError::NotRead(
                "cdk without a command: give `cdk deploy [STACKS…]`".into(),
            ));
        }
    }
    let dir = assembly_dir(p.value("app"), p.value("output"), env);
    let selection = Selection {
        patterns: p.args[1..].to_vec(),
        all: p.is_on("all"),
        exclusively: p.is_on("exclusively"),
    };
    let publisher = publisher(cli, env);
    plan(&dir, &selection, publisher, env)
}

/// `check --cdk-out DIR`: every stack of the assembly, published by the `cdk` this directory would run.
pub fn from_dir(dir: &Path, env: &Env<'_>) -> Result<CommandPlan, CommandError> {
    docker_client(env)?;
    let selection = Selection {
        all: true,
        ..Selection::default()
    };
    let publisher = publisher(Cli::Npx, env);
    plan(&env.cwd.join(dir), &selection, publisher, env)
}

/// cdk-assets runs `$CDK_DOCKER` instead of docker when it is set: another client (podman, finch) builds and
/// pushes its own way, which is not predicted here.
fn docker_client(env: &Env<'_>) -> Result<(), CommandError> {
    match env.var("CDK_DOCKER").filter(|c| !c.is_empty()) {
        Some(c) if Path::new(&c).file_name().and_then(|n| n.to_str()) != Some("docker") => {
            Err(CommandError::NotRead(format!(
                "CDK_DOCKER={c}: cdk-assets builds and pushes with {c}, not docker; ecr-doctor predicts docker's push only"
            )))
        }
        _ => Ok(()),
    }
}

/// `cdk deploy`'s flags (the CLI's global options and deploy's own: packages/aws-cdk/lib/cli/cli-config.ts). Array
/// options take one value per flag here.
const CDK_FLAGS: &[Flag] = &[
    Flag::value("app", Some('a')),
    Flag::value("build", None),
    Flag::value("context", Some('c')),
    Flag::value("plugin", Some('p')),
    Flag::switch("trace", None),
    Flag::switch("strict", None),
    Flag::switch("lookups", None),
    Flag::switch("ignore-errors", None),
    Flag::switch("json", Some('j')),
    Flag::switch("verbose", Some('v')),
    Flag::switch("debug", None),
    Flag::value("profile", None),
    Flag::value("region", None),
    Flag::value("proxy", None),
    Flag::value("ca-bundle-path", None),
    Flag::switch("ec2creds", Some('i')),
    Flag::switch("version-reporting", None),
    Flag::switch("path-metadata", None),
    Flag::switch("asset-metadata", None),
    Flag::value("role-arn", Some('r')),
    Flag::switch("staging", None),
    Flag::value("output", Some('o')),
    Flag::switch("notices", None),
    Flag::switch("color", None),
    Flag::switch("ci", None),
    Flag::value("unstable", None),
    Flag::switch("yes", Some('y')),
    Flag::switch("all", None),
    Flag::value("build-exclude", Some('E')),
    Flag::switch("exclusively", Some('e')),
    Flag::value("require-approval", None),
    Flag::value("notification-arns", None),
    Flag::value("tags", Some('t')),
    Flag::switch("execute", None),
    Flag::value("change-set-name", None),
    Flag::value("method", Some('m')),
    Flag::switch("import-existing-resources", None),
    Flag::switch("force", Some('f')),
    Flag::value("parameters", None),
    Flag::value("outputs-file", Some('O')),
    Flag::switch("previous-parameters", None),
    Flag::value("toolkit-stack-name", None),
    Flag::value("progress", None),
    Flag::switch("rollback", None),
    Flag::switch("hotswap", None),
    Flag::switch("hotswap-fallback", None),
    Flag::switch("watch", None),
    Flag::switch("logs", None),
    Flag::value("concurrency", None),
    Flag::switch("asset-parallelism", None),
    Flag::value("asset-build-concurrency", None),
    Flag::switch("asset-prebuild", None),
    Flag::switch("ignore-no-stacks", None),
];

/// yargs' `--no-NAME` for a boolean `--NAME`, as `--NAME=false`.
fn yargs_negations(args: &[String], known: &[Flag]) -> Vec<String> {
    args.iter()
        .map(|a| match a.strip_prefix("--no-") {
            Some(name) if known.iter().any(|f| f.long == name && !f.takes_value) => {
                format!("--{name}=false")
            }
            _ => a.clone(),
        })
        .collect()
}

/// The assembly `cdk deploy` reads: `--app DIR` when it names a directory (an assembly, used as it is),
/// else `--output`, else cdk.json's `output`, else `cdk.out`.
fn assembly_dir(app: Option<String>, output: Option<String>, env: &Env<'_>) -> PathBuf {
    if let Some(app) = app.map(|a| env.cwd.join(a)).filter(|a| a.is_dir()) {
        return app;
    }
    if let Some(out) = output {
        return env.cwd.join(out);
    }
    let from_cdk_json = read(env.files, &env.cwd.join("cdk.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .and_then(|v| v["output"].as_str().map(String::from));
    env.cwd.join(from_cdk_json.as_deref().unwrap_or("cdk.out"))
}

/// Which stacks `cdk deploy` takes (`selectStacks` in the CLI): the named ones (`*` patterns against the stack's
/// hierarchical ID), all with `--all`, the only one with neither; their dependencies too unless `--exclusively`.
#[derive(Debug, Default)]
pub struct Selection {
    pub patterns: Vec<String>,
    pub all: bool,
    pub exclusively: bool,
}

#[derive(Debug, Clone, Copy)]
enum Cli {
    /// `cdk` as the shell finds it on PATH.
    OnPath,
    /// `npx cdk`: the project's node_modules first, then PATH.
    Npx,
}

/// The tool that will publish, as `("aws-cdk 2.1148.1", builds with BUILDX_NO_DEFAULT_ATTESTATIONS=1)`.
type Publisher = Option<(String, bool)>;

/// The aws-cdk package `cdk` resolves to, and its version.
fn publisher(cli: Cli, env: &Env<'_>) -> Publisher {
    let local = || {
        env.cwd
            .ancestors()
            .map(|d| d.join("node_modules/aws-cdk/package.json"))
            .find(|p| env.files.exists(p))
    };
    let package = match cli {
        Cli::Npx => local().or_else(|| package_on_path("cdk", "aws-cdk", env)),
        Cli::OnPath => package_on_path("cdk", "aws-cdk", env),
    }?;
    version_of(&package, "aws-cdk", EngineVer(2, 1000, 0), env.files)
}

/// The npm package (`name`) whose bin is the program `bin` found on PATH: its package.json.
fn package_on_path(bin: &str, name: &str, env: &Env<'_>) -> Option<PathBuf> {
    let path = env.var("PATH")?;
    let program = std::env::split_paths(&path)
        .map(|d| d.join(bin))
        .find(|p| p.is_file())?;
    let real = std::fs::canonicalize(program).ok()?;
    real.ancestors()
        .skip(1)
        .take(4)
        .map(|d| d.join("package.json"))
        .find(|p| {
            read(env.files, p)
                .ok()
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                .is_some_and(|v| v["name"] == name)
        })
}

fn version_of(package: &Path, name: &str, since: EngineVer, files: &dyn Files) -> Publisher {
    let v: Value = serde_json::from_str(&read(files, package).ok()?).ok()?;
    let raw = v["version"].as_str()?;
    let version = EngineVer::parse(raw)?;
    Some((format!("{name} {raw}"), version >= since))
}

/// `cdk-assets [-p PATH] publish [ASSET…]`: one asset manifest, no stack.
fn cdk_assets(args: &[String], env: &Env<'_>) -> Result<CommandPlan, CommandError> {
    const FLAGS: &[Flag] = &[
        Flag::value("path", Some('p')),
        Flag::switch("verbose", Some('v')),
        Flag::value("profile", None),
    ];
    let p = flags::parse(args, FLAGS, false)?;
    if p.args.first().map(String::as_str) != Some("publish") {
        return Err(CommandError::NotRead(
            "only `cdk-assets publish` is read of cdk-assets".into(),
        ));
    }
    let mut path = env.cwd.join(p.value("path").unwrap_or_else(|| ".".into()));
    if path.is_dir() {
        path = path.join("assets.json");
    }
    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let publisher = package_on_path("cdk-assets", "cdk-assets", env)
        .and_then(|p| version_of(&p, "cdk-assets", EngineVer(3, 0, 0), env.files));
    let stack = Stack {
        id: "(cdk-assets publish)".into(),
        account: None,
        region: None,
        template: None,
    };
    let only: Vec<&str> = p.args[1..]
        .iter()
        .map(|a| a.split(':').next().unwrap_or(a))
        .collect();
    let mut pushes = Vec::new();
    for (reference, asset) in images(&dir, &path, &stack, &publisher, env.files)? {
        if only.is_empty() || only.contains(&asset.id.as_str()) {
            pushes.push((reference, Pushed::CdkAsset(asset)));
        }
    }
    finish(pushes)
}

/// The targets of the selected stacks' image assets.
pub fn plan(
    dir: &Path,
    selection: &Selection,
    publisher: Publisher,
    env: &Env<'_>,
) -> Result<CommandPlan, CommandError> {
    // The deploying credentials are asked at most once, and only for an environment-agnostic stack.
    let asked = std::cell::OnceCell::new();
    let deploying = || asked.get_or_init(|| (env.deploying)()).clone();
    let manifest_path = dir.join("manifest.json");
    let manifest = json(&manifest_path, env.files)?;
    let artifacts = manifest["artifacts"]
        .as_object()
        .ok_or_else(|| stale(&manifest_path, "no artifacts"))?;
    if artifacts
        .values()
        .any(|a| a["type"] == "cdk:cloud-assembly")
    {
        return Err(CommandError::NotRead(format!(
            "{}: stages (nested cloud assemblies) are not read yet: give --cdk-out the stage's assembly directory",
            manifest_path.display()
        )));
    }
    let stacks: Vec<(&String, &Value)> = artifacts
        .iter()
        .filter(|(_, a)| a["type"] == "aws:cloudformation:stack")
        .collect();
    let name = |(id, a): &(&String, &Value)| a["displayName"].as_str().unwrap_or(id).to_string();
    let mut chosen: Vec<String> = if selection.all {
        stacks.iter().map(|(id, _)| id.to_string()).collect()
    } else if selection.patterns.is_empty() {
        match stacks.as_slice() {
            [one] => vec![one.0.clone()],
            [] => return Err(stale(&manifest_path, "no stack")),
            _ => {
                return Err(CommandError::Definition(format!(
                    "the app has {} stacks ({}): name the stacks to deploy or give --all, as cdk deploy asks",
                    stacks.len(),
                    stacks.iter().map(name).collect::<Vec<_>>().join(", ")
                )));
            }
        }
    } else {
        let mut chosen = Vec::new();
        for pattern in &selection.patterns {
            if pattern.contains(['?', '[', ']', '{', '}', '!']) {
                return Err(CommandError::NotRead(format!(
                    "stack pattern '{pattern}': only `*` is read in patterns"
                )));
            }
            let matched: Vec<String> = stacks
                .iter()
                .filter(|s| glob_full_match(pattern, &name(s)) || glob_full_match(pattern, s.0))
                .map(|(id, _)| id.to_string())
                .collect();
            if matched.is_empty() {
                return Err(CommandError::Definition(format!(
                    "no stack matches '{pattern}' in {} (stacks: {})",
                    manifest_path.display(),
                    stacks.iter().map(name).collect::<Vec<_>>().join(", ")
                )));
            }
            chosen.extend(matched);
        }
        chosen
    };
    if !selection.exclusively {
        // Upstream stacks are deployed first, with their assets.
        let mut i = 0;
        while i < chosen.len() {
            for dep in artifacts[&chosen[i]]["dependencies"]
                .as_array()
                .into_iter()
                .flatten()
            {
                if let Some(dep) = dep.as_str()
                    && artifacts
                        .get(dep)
                        .is_some_and(|a| a["type"] == "aws:cloudformation:stack")
                    && !chosen.iter().any(|c| c == dep)
                {
                    chosen.push(dep.to_string());
                }
            }
            i += 1;
        }
    }
    let mut pushes = Vec::new();
    for id in &chosen {
        let artifact = &artifacts[id];
        let (account, region) = environment(id, artifact["environment"].as_str(), &deploying)
            .map_err(CommandError::Definition)?;
        let stack = Stack {
            id: artifact["displayName"].as_str().unwrap_or(id).to_string(),
            account: Some(account),
            region: Some(region),
            template: artifact["properties"]["templateFile"]
                .as_str()
                .map(|f| json(&dir.join(f), env.files))
                .transpose()?,
        };
        for dep in artifact["dependencies"].as_array().into_iter().flatten() {
            let Some(a) = dep.as_str().and_then(|d| artifacts.get(d)) else {
                continue;
            };
            if a["type"] != "cdk:asset-manifest" {
                continue;
            }
            let file = a["properties"]["file"]
                .as_str()
                .ok_or_else(|| stale(&manifest_path, "an asset manifest artifact names no file"))?;
            for (reference, asset) in images(dir, &dir.join(file), &stack, &publisher, env.files)? {
                pushes.push((reference, Pushed::CdkAsset(asset)));
            }
        }
    }
    finish(pushes)
}

fn finish(pushes: Vec<(TargetRef, Pushed)>) -> Result<CommandPlan, CommandError> {
    if pushes.is_empty() {
        return Err(CommandError::NothingPushed(
            "the deployment publishes no image asset (no dockerImages in its asset manifests)"
                .into(),
        ));
    }
    Ok(CommandPlan::of_targets(
        PushPath::CdkAssets,
        None,
        pushes,
        vec![],
    ))
}

/// The stack a destination is published for.
struct Stack {
    id: String,
    account: Option<String>,
    region: Option<String>,
    template: Option<Value>,
}

/// `aws://ACCOUNT/REGION`. An environment-agnostic stack (`unknown-account`, `unknown-region`) takes the deploying
/// credentials' account and the configured region, as the CLI does; when they cannot be read, the run stops
/// rather than guess.
fn environment(
    stack: &str,
    env: Option<&str>,
    deploying: &dyn Fn() -> Result<(String, String), String>,
) -> Result<(String, String), String> {
    let (account, region) = env
        .and_then(|e| e.strip_prefix("aws://"))
        .and_then(|e| e.split_once('/'))
        .ok_or_else(|| {
            format!("stack '{stack}': no environment in the assembly; run `cdk synth` again")
        })?;
    let agnostic = |part: &str| part.starts_with("unknown-");
    if !agnostic(account) && !agnostic(region) {
        return Ok((account.to_string(), region.to_string()));
    }
    let (caller, configured) = deploying().map_err(|why| {
        format!(
            "stack '{stack}' is environment-agnostic (aws://{account}/{region}): its account and region are the \
             deploying credentials', which could not be read ({why}); give the stack an env (e.g. `env: {{ account: \
             process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION }}`) and run `cdk synth`"
        )
    })?;
    let pick = |part: &str, known: String| {
        if agnostic(part) {
            known
        } else {
            part.to_string()
        }
    };
    Ok((pick(account, caller), pick(region, configured)))
}

/// Every destination of every `dockerImages` entry of one asset manifest.
fn images(
    dir: &Path,
    file: &Path,
    stack: &Stack,
    publisher: &Publisher,
    files: &dyn Files,
) -> Result<Vec<(TargetRef, CdkAsset)>, CommandError> {
    let manifest = json(file, files)?;
    let mut out = Vec::new();
    for (id, image) in manifest["dockerImages"].as_object().into_iter().flatten() {
        let source = &image["source"];
        if source["executable"].is_array() {
            return Err(CommandError::NotRead(format!(
                "{}: image asset {id} is built by its own command (source.executable), whose image is not predicted",
                file.display()
            )));
        }
        let directory = source["directory"]
            .as_str()
            .ok_or_else(|| stale(file, &format!("image asset {id} has no source directory")))?;
        let dockerfile = dir
            .join(directory)
            .join(source["dockerFile"].as_str().unwrap_or("Dockerfile"));
        read(files, &dockerfile).map_err(|e| stale(&dockerfile, &e.to_string()))?;
        let build = BuildOutput {
            platforms: source["platform"]
                .as_str()
                .map(String::from)
                .into_iter()
                .collect(),
            ..BuildOutput::default()
        };
        if source["dockerOutputs"].is_array() {
            return Err(CommandError::NotRead(format!(
                "{}: image asset {id} sets dockerOutputs, whose image is not predicted",
                file.display()
            )));
        }
        for (_, dest) in image["destinations"].as_object().into_iter().flatten() {
            let raw_repository = dest["repositoryName"].as_str().unwrap_or_default();
            let tag = dest["imageTag"].as_str().unwrap_or_default();
            let role = dest["assumeRoleArn"].as_str();
            let region = dest["region"]
                .as_str()
                .map(String::from)
                .or_else(|| stack.region.clone());
            // The repository lives in the account the publishing role belongs to (else the stack's).
            let account = role
                .map(|r| r.replace("${AWS::Partition}", "aws"))
                .and_then(|r| r.split(':').nth(4).map(String::from))
                .filter(|a| !a.contains('$') && !a.is_empty())
                .or_else(|| stack.account.clone());
            let (Some(account), Some(region)) = (account, region) else {
                return Err(CommandError::Definition(format!(
                    "{}: image asset {id} names no account or region for its repository '{raw_repository}': \
                     ecr-doctor does not guess the deploying credentials'",
                    file.display()
                )));
            };
            let resolve = |s: &str| {
                s.replace("${AWS::AccountId}", &account)
                    .replace("${AWS::Region}", &region)
                    .replace("${AWS::Partition}", partition(&region))
            };
            let repository = resolve(raw_repository);
            if repository.contains("${") || tag.is_empty() {
                return Err(stale(
                    file,
                    &format!("image asset {id}: repository '{repository}', tag '{tag}'"),
                ));
            }
            let suffix = if region.starts_with("cn-") {
                "amazonaws.com.cn"
            } else {
                "amazonaws.com"
            };
            let reference = TargetRef::parse(&format!(
                "{account}.dkr.ecr.{region}.{suffix}/{repository}:{tag}"
            ))
            .map_err(|e| {
                CommandError::Definition(format!("{}: image asset {id}: {e}", file.display()))
            })?;
            let function = lambda_architecture(stack.template.as_ref(), raw_repository, tag);
            out.push((
                reference,
                CdkAsset {
                    id: id.clone(),
                    stack: stack.id.clone(),
                    build: build.clone(),
                    assume_role_arn: role.map(resolve),
                    publisher: publisher.as_ref().map(|(p, _)| p.clone()),
                    no_default_attestations: publisher.as_ref().map(|(_, on)| *on),
                    consumer: function.is_some().then_some(Consumer::Lambda),
                    architecture: function,
                },
            ));
        }
    }
    Ok(out)
}

/// The architecture of the Lambda function of the stack's template that runs `REPOSITORY:TAG` (its
/// `Code.ImageUri`, a string or an `Fn::Sub`, names the repository as the asset manifest does): its
/// `Architectures`, `x86_64` when it names none (Lambda's default); `None` when no function runs it.
fn lambda_architecture(template: Option<&Value>, repository: &str, tag: &str) -> Option<String> {
    let needle = format!("/{repository}:{tag}");
    template
        .and_then(|t| t["Resources"].as_object())
        .into_iter()
        .flatten()
        .filter(|(_, r)| r["Type"] == "AWS::Lambda::Function")
        .find(|(_, r)| {
            r["Properties"]["Code"]["ImageUri"]
                .to_string()
                .contains(&needle)
        })
        .map(|(_, r)| {
            r["Properties"]["Architectures"][0]
                .as_str()
                .unwrap_or("x86_64")
                .to_string()
        })
}

fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

fn json(path: &Path, files: &dyn Files) -> Result<Value, CommandError> {
    let text = read(files, path).map_err(|e| stale(path, &e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| stale(path, &e.to_string()))
}

/// The one error of an assembly that is missing, unreadable or not what `cdk synth` writes.
fn stale(path: &Path, why: &str) -> CommandError {
    CommandError::Definition(format!(
        "cloud assembly {}: {why}; run `cdk synth` (ecr-doctor reads the assembly it writes)",
        path.display()
    ))
}

#[cfg(test)]
mod tests;
