//! The push command to predict (`ecr-doctor check -- COMMAND…`), read the way the docker CLI and buildx
//! read it: which references it pushes, and what it pushes to each.

mod bake;
pub mod cdk;
mod compose;
mod error;
mod flags;
mod sam;
mod spec;

use std::io;
use std::path::Path;

use ecr_doctor_checks::facts::{BuildOutput, PushCommand, PushPath, Pushed};
use ecr_doctor_checks::prediction::go_bool;
use ecr_doctor_checks::{EcrRef, TargetRef};

use crate::input::{Budget, read_file};
pub use error::CommandError;
use flags::Flag;
use spec::{Attest, Output};

/// A command, read.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandPlan {
    pub command: PushCommand,
    /// Every ECR reference the command pushes, parsed, with what it pushes there, in command order.
    pub pushes: Vec<(TargetRef, Pushed)>,
}

/// Where the command reads what it does not say: the environment, the working directory, and the files it
/// names (bake, compose and `.env` files).
pub struct Env<'a> {
    pub var: &'a dyn Fn(&str) -> Option<String>,
    pub cwd: &'a Path,
    pub files: &'a dyn Files,
    /// The account and region of the deploying credentials: asked only for an environment-agnostic CDK stack.
    pub deploying: &'a dyn Fn() -> Result<(String, String), String>,
    /// A local image's ID (`GET /images/{name}/json`; `None`: no such image): asked only for the images `sam
    /// deploy` pushes, whose remote tag holds it.
    pub local_image_id: &'a dyn Fn(&str) -> Result<Option<String>, String>,
}

/// The files a command reads: [`Disk`] in a run, a map in unit tests, so that the readers stay pure.
pub trait Files {
    /// The text of the regular file at `path` within `budget`; `NotFound` when there is none.
    fn read(&self, path: &Path, budget: Budget) -> io::Result<String>;
    /// Whether `path` is a regular file (for the files a tool looks for by name).
    fn exists(&self, path: &Path) -> bool;
}

/// The file system.
pub struct Disk;

impl Files for Disk {
    fn read(&self, path: &Path, budget: Budget) -> io::Result<String> {
        read_file(path, budget)
    }

    fn exists(&self, path: &Path) -> bool {
        path.is_file()
    }
}

impl Env<'_> {
    fn var(&self, name: &str) -> Option<String> {
        (self.var)(name)
    }
}

/// Reads `argv` (`docker …`). Err: one line naming the part that is wrong or not supported.
pub fn parse(argv: &[String], env: &Env<'_>) -> Result<CommandPlan, CommandError> {
    // `check -- $PUSH_COMMAND` with the variable unset or blank: refused, as checking nothing would pass.
    let (program, rest) = argv
        .split_first()
        .filter(|_| argv.iter().any(|w| !w.trim().is_empty()))
        .ok_or_else(|| {
            CommandError::NothingPushed(
                "no command after `--` (an unset variable?): give the push command, e.g. -- docker push REF"
                    .into(),
            )
        })?;
    let name = Path::new(program)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(program);
    let plan = if cdk::reads(name) {
        cdk::parse(name, rest, env)?
    } else if name == "sam" {
        sam::parse(rest, env)?
    } else {
        docker(program, name, rest, env)?
    };
    Ok(CommandPlan {
        command: PushCommand {
            argv: redact(argv).0,
            ..plan.command
        },
        ..plan
    })
}

/// `docker …`.
fn docker(
    program: &str,
    name: &str,
    rest: &[String],
    env: &Env<'_>,
) -> Result<CommandPlan, CommandError> {
    if name != "docker" {
        return Err(CommandError::NotRead(format!(
            "'{program}': only docker, CDK and SAM commands are read (docker push, docker build, docker buildx \
             build, docker compose push, docker compose build --push, docker buildx bake, docker buildx imagetools \
             create, cdk deploy, cdk-assets publish, sam deploy)"
        )));
    }
    let global = flags::parse(rest, DOCKER_GLOBAL, true)?;
    for (flag, why) in [
        ("config", "set DOCKER_CONFIG=DIR for both commands instead"),
        ("context", "set DOCKER_CONTEXT for both commands instead"),
        ("host", "set DOCKER_HOST for both commands instead"),
    ] {
        if global.has(flag) {
            return Err(CommandError::NotRead(format!(
                "docker --{flag} is not read: {why}, so ecr-doctor sees the engine and config the command uses"
            )));
        }
    }
    let words: Vec<&str> = global.args.iter().map(String::as_str).collect();
    let after = |n: usize| &global.args[n..];
    let plan = match words.as_slice() {
        ["push", ..] => push(after(1))?,
        ["image", "push", ..] => push(after(2))?,
        ["compose", ..] => compose(after(1), env)?,
        ["build", ..] => docker_build(after(1), env)?,
        ["builder" | "image", "build", ..] => docker_build(after(2), env)?,
        ["buildx", ..] => {
            let bx = flags::parse(after(1), BUILDX_GLOBAL, true)?;
            let builder = bx.value("builder");
            let sub: Vec<&str> = bx.args.iter().map(String::as_str).collect();
            match sub.as_slice() {
                ["build" | "b", ..] => build(&bx.args[1..], builder)?,
                ["bake" | "f", ..] => bake(&bx.args[1..], builder, env)?,
                ["imagetools", "create", ..] => imagetools_create(&bx.args[2..], builder)?,
                _ => return Err(unsupported(&words)),
            }
        }
        _ => return Err(unsupported(&words)),
    };
    if let Some(b) = &plan.command.builder {
        builder_name(b, "--builder").map_err(CommandError::Flag)?;
    }
    Ok(plan)
}

/// Whether buildx accepts `name` as a builder name (docker/buildx `store/util.go`, `ValidateName`:
/// `^[a-zA-Z][a-zA-Z0-9\.\-_]*$`). buildx refuses any other name before it looks for the builder; ecr-doctor
/// must too, as it reads the builder's record from a file of that name.
pub fn valid_builder_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// A builder named by `from` (`--builder`, `BUILDX_BUILDER`), refused as buildx refuses it.
pub fn builder_name(name: &str, from: &str) -> Result<(), String> {
    if valid_builder_name(name) {
        return Ok(());
    }
    Err(format!(
        "{from} '{name}': not a builder name buildx accepts (a letter, then letters, digits, '.', '-' or '_')"
    ))
}

fn unsupported(words: &[&str]) -> CommandError {
    let shown = words.iter().take(3).copied().collect::<Vec<_>>().join(" ");
    CommandError::not_a_push(
        &format!("docker {shown}"),
        "docker push, docker image push, docker build, docker buildx build, docker buildx bake, docker buildx \
         imagetools create, docker compose push, docker compose build --push",
    )
}

/// The command as it may be shown (recorded in the report, quoted in an error): the values of flags that may
/// carry secrets hidden (`--build-arg TOKEN=…`), and the hidden values, so that any other echo of the
/// command can be scrubbed of them ([`scrub`]).
pub fn redact(argv: &[String]) -> (Vec<String>, Vec<String>) {
    let mut shown = Vec::with_capacity(argv.len());
    let mut hidden = Vec::new();
    let mut hide_next = false;
    for a in argv {
        let (value, prefix) = if std::mem::take(&mut hide_next) {
            (a.as_str(), "")
        } else {
            match secret_flag(a) {
                Some(None) => {
                    hide_next = true;
                    shown.push(a.clone());
                    continue;
                }
                Some(Some(at)) => (&a[at + 1..], &a[..=at]),
                None => {
                    shown.push(a.clone());
                    continue;
                }
            }
        };
        let (kept, secret) = hide(value);
        shown.push(format!("{prefix}{kept}"));
        hidden.extend(secret.filter(|s| !s.is_empty()).map(str::to_string));
    }
    // Longest first, so that a secret holding another is scrubbed whole.
    hidden.sort_by_key(|s| std::cmp::Reverse(s.len()));
    (shown, hidden)
}

/// `text` with every secret value of `argv` (see [`redact`]) replaced by `…`: for errors that quote the
/// command, whatever part of it they quote.
pub fn scrub(text: &str, argv: &[String]) -> String {
    redact(argv).1.iter().fold(text.to_string(), |t, secret| {
        t.replace(secret.as_str(), "…")
    })
}

/// Flags whose values may be secrets: a build argument keeps its name only. `--set` carries bake's
/// `TARGET.args.NAME=VALUE` and `TARGET.secret=…`; its other values are kept as they are in `hide`.
const SECRET_FLAGS: [&str; 3] = ["build-arg", "secret", "set"];

/// Whether `arg` is a secret flag, `--NAME` (`Some(None)`: the value is the next argument) or
/// `--NAME=VALUE` (`Some(Some(i))`: the `=` at `i`). One dash is read as two: a typo must not leak either.
fn secret_flag(arg: &str) -> Option<Option<usize>> {
    let body = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-'))?;
    SECRET_FLAGS.iter().find_map(|f| {
        let rest = body.strip_prefix(f)?;
        match rest.strip_prefix('=') {
            _ if rest.is_empty() => Some(None),
            Some(_) => Some(Some(arg.len() - rest.len())),
            None => None,
        }
    })
}

/// A secret flag's value as shown, and the part hidden.
fn hide(value: &str) -> (String, Option<&str>) {
    match value.split_once('=') {
        // A bake override of anything but build arguments and secrets is no secret.
        Some((key, _))
            if key.contains('.') && !key.contains(".args") && !key.contains(".secret") =>
        {
            (value.to_string(), None)
        }
        Some((name, secret)) if !name.contains(',') => (format!("{name}=…"), Some(secret)),
        _ => ("…".into(), Some(value)),
    }
}

// --- docker push ---------------------------------------------------------------------------------------

const PUSH_FLAGS: &[Flag] = &[
    Flag::switch("all-tags", Some('a')),
    Flag::switch("disable-content-trust", None),
    Flag::value("platform", None),
    Flag::switch("quiet", Some('q')),
];

fn push(args: &[String]) -> Result<CommandPlan, CommandError> {
    let p = flags::parse(args, PUSH_FLAGS, false)?;
    if p.is_on("all-tags") {
        return Err(CommandError::NotRead(
            "docker push --all-tags is not read: name each tag (-- docker push REF, once per tag)"
                .into(),
        ));
    }
    if p.has("platform") {
        return Err(CommandError::NotRead(
            "docker push --platform is not read yet: check the push without it".into(),
        ));
    }
    let [reference] = p.args.as_slice() else {
        return Err(CommandError::Flag(format!(
            "docker push takes one image reference, got {}",
            p.args.len()
        )));
    };
    CommandPlan::of(
        PushPath::DockerPush,
        None,
        vec![(reference.clone(), Pushed::LocalImage)],
    )
}

// --- docker compose push ---------------------------------------------------------------------------------

/// `docker compose`'s own flags (before the subcommand).
const COMPOSE_GLOBAL: &[Flag] = &[
    Flag::switch("all-resources", None),
    Flag::value("ansi", None),
    Flag::switch("compatibility", None),
    Flag::switch("dry-run", None),
    Flag::value("env-file", None),
    Flag::value("file", Some('f')),
    Flag::value("parallel", None),
    Flag::value("profile", None),
    Flag::value("progress", None),
    Flag::value("project-directory", None),
    Flag::value("project-name", Some('p')),
];

const COMPOSE_PUSH_FLAGS: &[Flag] = &[
    Flag::switch("dry-run", None),
    Flag::switch("ignore-push-failures", None),
    Flag::switch("include-deps", None),
    Flag::switch("quiet", Some('q')),
];

/// `docker compose build`'s flags (docker/compose `cmd/compose/build.go`), the deprecated hidden ones too.
const COMPOSE_BUILD_FLAGS: &[Flag] = &[
    Flag::value("build-arg", None),
    Flag::value("builder", None),
    Flag::switch("check", None),
    Flag::switch("compress", None),
    Flag::switch("dry-run", None),
    Flag::switch("force-rm", None),
    Flag::value("memory", Some('m')),
    Flag::switch("no-cache", None),
    Flag::switch("no-rm", None),
    Flag::switch("parallel", None),
    Flag::switch("print", None),
    Flag::value("progress", None),
    Flag::value("provenance", None),
    Flag::switch("pull", None),
    Flag::switch("push", None),
    Flag::switch("quiet", Some('q')),
    Flag::value("sbom", None),
    Flag::value("ssh", None),
    Flag::switch("with-dependencies", None),
];

/// `docker compose push [SERVICE…]`, each image with the engine's push, and `docker compose build --push
/// [SERVICE…]`, each built and pushed by bake.
fn compose(args: &[String], env: &Env<'_>) -> Result<CommandPlan, CommandError> {
    let g = flags::parse(args, COMPOSE_GLOBAL, true)?;
    let sub: Vec<&str> = g.args.iter().map(String::as_str).collect();
    let building = match sub.as_slice() {
        ["push", ..] => false,
        ["build", ..] => true,
        _ => {
            let shown = sub.first().copied().unwrap_or("");
            return Err(CommandError::not_a_push(
                &format!("docker compose {shown}"),
                "docker compose push, docker compose build --push",
            ));
        }
    };
    let known = if building {
        COMPOSE_BUILD_FLAGS
    } else {
        COMPOSE_PUSH_FLAGS
    };
    let p = flags::parse(&g.args[1..], known, false)?;
    if g.is_on("dry-run") || p.is_on("dry-run") {
        return Err(CommandError::NothingPushed(
            "docker compose --dry-run pushes nothing".into(),
        ));
    }
    if building {
        compose_build_pushes(&p, env)?;
    }
    let (files, env_files, profiles) =
        (g.values("file"), g.values("env-file"), g.values("profile"));
    let project_directory = g.value("project-directory");
    let services = compose::pushing(&compose::ComposeInput {
        files: &files,
        project_directory: project_directory.as_deref(),
        env_files: &env_files,
        profiles: &profiles,
        services: &p.args,
        include_deps: p.is_on(if building {
            "with-dependencies"
        } else {
            "include-deps"
        }),
        cwd: env.cwd,
        env: env.var,
        fs: env.files,
    })?;
    if services.is_empty() {
        return Err(CommandError::NothingPushed(format!(
            "docker compose {} pushes nothing: no service has both `build` and `image`",
            sub[0]
        )));
    }
    if !building {
        return CommandPlan::of(
            PushPath::DockerPush,
            None,
            services
                .into_iter()
                .flat_map(|s| s.tags)
                .map(|t| (t, Pushed::LocalImage))
                .collect(),
        );
    }
    let mut pushes: Vec<(String, Pushed)> = Vec::new();
    for s in services {
        // Compose's bake definition: one target per service, named after it with `.` as `_`, pushing with
        // `type=registry`, or `type=image,push=true` when it builds for several platforms.
        let output = if s.build.platforms.len() > 1 {
            Output::parse("type=image,push=true")?
        } else {
            Output::registry()
        };
        let spec = BuildSpec {
            target: Some(s.service.replace('.', "_")),
            tags: s.tags,
            platforms: s.build.platforms.clone(),
            attest: Attest::all(&s.build.attest(), p.value("provenance"), p.value("sbom"))?,
            outputs: vec![output],
            cache_to: s.build.cache_to,
        };
        for (reference, pushed) in spec.pushes()? {
            if !pushes.iter().any(|(r, _)| *r == reference) {
                pushes.push((reference, pushed));
            }
        }
    }
    CommandPlan::of(PushPath::ComposeBuild, p.value("builder"), pushes)
}

/// Whether `docker compose build` pushes, and with bake. Compose 2.37 and later build with bake unless
/// `COMPOSE_BAKE=false` (docker/compose `pkg/compose/build_bake.go`, `buildWithBake`); the compose check
/// (ED005) holds the plugin's version to that.
fn compose_build_pushes(p: &flags::Parsed, env: &Env<'_>) -> Result<(), CommandError> {
    for (flag, why) in [
        ("print", "prints the bake definition"),
        ("check", "checks the build configuration"),
    ] {
        if p.is_on(flag) {
            return Err(CommandError::NothingPushed(format!(
                "docker compose build --{flag} {why} and pushes nothing"
            )));
        }
    }
    if !p.is_on("push") {
        return Err(CommandError::NothingPushed(
            "docker compose build without --push pushes nothing: check -- docker compose push after it"
                .into(),
        ));
    }
    if env.var("COMPOSE_BAKE").as_deref().and_then(go_bool) == Some(false)
        || env.var("DOCKER_BUILDKIT").as_deref().and_then(go_bool) == Some(false)
    {
        return Err(CommandError::NotRead(
            "COMPOSE_BAKE=false or DOCKER_BUILDKIT=0: Compose's own builder is not read, only its bake \
             builder (the default since Compose 2.37)"
                .into(),
        ));
    }
    Ok(())
}

// --- docker buildx build ---------------------------------------------------------------------------------

const BUILD_FLAGS: &[Flag] = &[
    Flag::value("add-host", None),
    Flag::value("allow", None),
    Flag::value("annotation", None),
    Flag::value("attest", None),
    Flag::value("build-arg", None),
    Flag::value("build-context", None),
    Flag::value("builder", None),
    Flag::value("cache-from", None),
    Flag::value("cache-to", None),
    Flag::value("call", None),
    Flag::value("cgroup-parent", None),
    Flag::switch("check", None),
    Flag::switch("debug", Some('D')),
    Flag::value("file", Some('f')),
    Flag::value("iidfile", None),
    Flag::value("label", None),
    Flag::switch("load", None),
    Flag::value("metadata-file", None),
    Flag::value("network", None),
    Flag::switch("no-cache", None),
    Flag::value("no-cache-filter", None),
    Flag::value("output", Some('o')),
    Flag::value("platform", None),
    Flag::value("progress", None),
    Flag::value("provenance", None),
    Flag::switch("pull", None),
    Flag::switch("push", None),
    Flag::switch("quiet", Some('q')),
    Flag::value("sbom", None),
    Flag::value("secret", None),
    Flag::value("shm-size", None),
    Flag::value("ssh", None),
    Flag::value("tag", Some('t')),
    Flag::value("target", None),
    Flag::value("ulimit", None),
    // The classic `docker build` flags buildx still accepts (hidden, ignored by BuildKit).
    Flag::switch("compress", None),
    Flag::value("cpu-period", None),
    Flag::value("cpu-quota", None),
    Flag::value("cpu-shares", Some('c')),
    Flag::value("cpuset-cpus", None),
    Flag::value("cpuset-mems", None),
    Flag::switch("disable-content-trust", None),
    Flag::switch("force-rm", None),
    Flag::value("isolation", None),
    Flag::value("memory", Some('m')),
    Flag::value("memory-swap", None),
    Flag::switch("rm", None),
    Flag::value("security-opt", None),
    Flag::switch("squash", None),
];

/// `docker build`: buildx's build, unless DOCKER_BUILDKIT=0 picks the legacy builder.
fn docker_build(args: &[String], env: &Env<'_>) -> Result<CommandPlan, CommandError> {
    if env.var("DOCKER_BUILDKIT").as_deref().and_then(go_bool) == Some(false) {
        return Err(CommandError::NotRead(
            "DOCKER_BUILDKIT=0: the legacy builder cannot push from a build (no --push)".into(),
        ));
    }
    build(args, None)
}

fn build(args: &[String], builder: Option<String>) -> Result<CommandPlan, CommandError> {
    let p = flags::parse(args, BUILD_FLAGS, false)?;
    if p.args.len() != 1 {
        return Err(CommandError::Flag(format!(
            "docker buildx build takes one build context (PATH | URL | -), got {}",
            p.args.len()
        )));
    }
    if let Some(call) = p.value("call").filter(|c| c != "build") {
        return Err(CommandError::NothingPushed(format!(
            "--call={call} builds nothing to push"
        )));
    }
    if p.is_on("check") {
        return Err(CommandError::NothingPushed(
            "--check builds nothing to push".into(),
        ));
    }
    let mut outputs = p
        .values("output")
        .iter()
        .map(|o| Output::parse(o))
        .collect::<Result<Vec<_>, _>>()?;
    if p.is_on("push") {
        outputs.push(Output::registry());
    }
    if p.is_on("load") {
        outputs.push(Output::Docker);
    }
    let spec = BuildSpec {
        target: None,
        tags: split_lists(&p.values("tag")),
        platforms: split_lists(&p.values("platform")),
        attest: Attest::all(&p.values("attest"), p.value("provenance"), p.value("sbom"))?,
        outputs,
        cache_to: p.values("cache-to"),
    };
    let pushes = spec.pushes()?;
    if pushes.is_empty() {
        return Err(CommandError::NothingPushed(
            "the build pushes nothing (no --push, no --output type=registry or type=image,push=true)"
                .into(),
        ));
    }
    CommandPlan::of(PushPath::Build, p.value("builder").or(builder), pushes)
}

/// What a build (or one bake target) asks for, its specs read.
#[derive(Debug, Default)]
struct BuildSpec {
    target: Option<String>,
    tags: Vec<String>,
    platforms: Vec<String>,
    /// `--attest`, with `--provenance` and `--sbom` after it.
    attest: Vec<Attest>,
    outputs: Vec<Output>,
    /// `--cache-to` specs (only registry exports are read).
    cache_to: Vec<String>,
}

impl BuildSpec {
    /// The references it pushes: its image to every name of a pushing output, its registry cache exports.
    fn pushes(&self) -> Result<Vec<(String, Pushed)>, CommandError> {
        let mut names = Vec::new();
        let mut oci_artifact = None;
        let mut pushing = false;
        for image in self.outputs.iter().filter_map(Output::pushing) {
            pushing = true;
            if image.push_by_digest {
                return Err(CommandError::spec(
                    "--output",
                    &image.spec,
                    "push-by-digest writes no tag; check the later imagetools create instead",
                ));
            }
            oci_artifact = image.oci_artifact.or(oci_artifact);
            names.extend(image.names.as_ref().unwrap_or(&self.tags).iter().cloned());
        }
        if names.is_empty() && pushing {
            return Err(CommandError::NothingPushed(
                "the build pushes, but names no image: give -t NAME:TAG".into(),
            ));
        }
        let image = BuildOutput {
            bake_target: self.target.clone(),
            platforms: self.platforms.clone(),
            provenance: Attest::asked(&self.attest, "provenance"),
            sbom: Attest::asked(&self.attest, "sbom") == Some(true),
            oci_artifact,
        };
        let mut pushes: Vec<(String, Pushed)> = Vec::new();
        for name in names {
            if !pushes.iter().any(|(n, _)| *n == name) {
                pushes.push((name, Pushed::Build(image.clone())));
            }
        }
        for spec in &self.cache_to {
            if let Some((reference, export)) = spec::registry_cache(spec)? {
                pushes.push((reference, Pushed::Cache(export)));
            }
        }
        Ok(pushes)
    }
}

/// `a,b` and repeated flags alike, as buildx splits `--platform` and `--tag` does not: tags never hold a
/// comma, so splitting them is harmless.
fn split_lists(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(String::from)
        .collect()
}

// --- docker buildx bake ---------------------------------------------------------------------------------

const BAKE_FLAGS: &[Flag] = &[
    Flag::value("allow", None),
    Flag::value("builder", None),
    Flag::value("call", None),
    Flag::switch("check", None),
    Flag::switch("debug", Some('D')),
    Flag::value("file", Some('f')),
    Flag::value("list", None),
    Flag::switch("load", None),
    Flag::value("metadata-file", None),
    Flag::switch("no-cache", None),
    Flag::switch("print", None),
    Flag::value("progress", None),
    Flag::value("provenance", None),
    Flag::switch("pull", None),
    Flag::switch("push", None),
    Flag::value("sbom", None),
    Flag::value("set", None),
];

fn bake(
    args: &[String],
    builder: Option<String>,
    env: &Env<'_>,
) -> Result<CommandPlan, CommandError> {
    let p = flags::parse(args, BAKE_FLAGS, false)?;
    for (flag, on) in [
        ("print", p.is_on("print")),
        ("list", p.has("list")),
        ("check", p.is_on("check")),
        ("call", p.value("call").is_some_and(|c| c != "build")),
    ] {
        if on {
            return Err(CommandError::NothingPushed(format!(
                "bake --{flag} builds nothing to push"
            )));
        }
    }
    let targets = bake::resolve(&bake::BakeInput {
        files: &p.values("file"),
        targets: &p.args,
        sets: &p.values("set"),
        push: p.is_on("push"),
        load: p.is_on("load"),
        cwd: env.cwd,
        env: env.var,
        fs: env.files,
    })?;
    let mut pushes = Vec::new();
    for t in targets {
        let spec = BuildSpec {
            attest: Attest::all(&t.attest, p.value("provenance"), p.value("sbom"))?,
            target: Some(t.name),
            tags: t.tags,
            platforms: split_lists(&t.platforms),
            outputs: t.output,
            cache_to: t.cache_to,
        };
        pushes.extend(spec.pushes()?);
    }
    if pushes.is_empty() {
        return Err(CommandError::NothingPushed(
            "the bake pushes nothing (no --push, and no target has a registry output)".into(),
        ));
    }
    CommandPlan::of(PushPath::Bake, p.value("builder").or(builder), pushes)
}

// --- docker buildx imagetools create ----------------------------------------------------------------------

const IMAGETOOLS_CREATE_FLAGS: &[Flag] = &[
    Flag::value("annotation", None),
    Flag::switch("append", None),
    Flag::value("builder", None),
    Flag::switch("debug", Some('D')),
    Flag::switch("dry-run", None),
    Flag::value("file", Some('f')),
    Flag::value("platform", Some('p')),
    Flag::switch("prefer-index", None),
    Flag::value("progress", None),
    Flag::value("tag", Some('t')),
];

fn imagetools_create(
    args: &[String],
    builder: Option<String>,
) -> Result<CommandPlan, CommandError> {
    let p = flags::parse(args, IMAGETOOLS_CREATE_FLAGS, false)?;
    if p.is_on("dry-run") {
        return Err(CommandError::NothingPushed(
            "imagetools create --dry-run pushes nothing".into(),
        ));
    }
    let tags = p.values("tag");
    if tags.is_empty() {
        return Err(CommandError::NothingPushed(
            "imagetools create without -t pushes nothing ecr-doctor can check".into(),
        ));
    }
    let sources = p.args.clone();
    let prefer_index = p.has("prefer-index").then(|| p.is_on("prefer-index"));
    CommandPlan::of(
        PushPath::ImagetoolsCreate,
        p.value("builder").or(builder),
        tags.into_iter()
            .map(|t| {
                (
                    t,
                    Pushed::Index {
                        sources: sources.clone(),
                        prefer_index,
                    },
                )
            })
            .collect(),
    )
}

// --- the docker CLI's own flags ------------------------------------------------------------------------

const DOCKER_GLOBAL: &[Flag] = &[
    Flag::value("config", None),
    Flag::value("context", Some('c')),
    Flag::switch("debug", Some('D')),
    Flag::value("host", Some('H')),
    Flag::value("log-level", Some('l')),
    Flag::switch("tls", None),
    Flag::value("tlscacert", None),
    Flag::value("tlscert", None),
    Flag::value("tlskey", None),
    Flag::switch("tlsverify", None),
];

const BUILDX_GLOBAL: &[Flag] = &[
    Flag::value("builder", None),
    Flag::switch("debug", Some('D')),
];

impl CommandPlan {
    /// A plan of `path`: ECR references become targets (a malformed one stops the run, naming its bad
    /// part), every other one is listed as not checked.
    fn of(
        path: PushPath,
        builder: Option<String>,
        all: Vec<(String, Pushed)>,
    ) -> Result<CommandPlan, CommandError> {
        let (ecr, others): (Vec<_>, Vec<_>) =
            all.into_iter().partition(|(r, _)| EcrRef::names_ecr(r));
        let pushes = ecr
            .into_iter()
            .map(|(r, pushed)| Ok((TargetRef::parse(&r)?, pushed)))
            .collect::<Result<_, CommandError>>()?;
        let not_checked = others.into_iter().map(|(r, _)| r).collect();
        Ok(CommandPlan::of_targets(path, builder, pushes, not_checked))
    }

    fn of_targets(
        path: PushPath,
        builder: Option<String>,
        pushes: Vec<(TargetRef, Pushed)>,
        not_checked: Vec<String>,
    ) -> CommandPlan {
        CommandPlan {
            command: PushCommand {
                path,
                argv: Vec::new(),
                builder,
                not_checked,
                consumer: None,
            },
            pushes,
        }
    }
}

#[cfg(test)]
mod tests;
