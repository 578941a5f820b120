//! `sam deploy [FLAGS]`: the image functions of the template `sam build` wrote, each pushed the way SAM CLI pushes
//! it.
//!
//! What SAM CLI does, read in aws/aws-sam-cli (https://github.com/aws/aws-sam-cli) at fe8f8dbb, version 1.170.0:
//! - samcli/lib/package/ecr_uploader.py: `login` (65-81) takes an ECR token of the deploying credentials
//!   (`get_authorization_token`) and logs docker-py in with it; `upload` (83-132) takes the local image the
//!   template's `ImageUri` names (`images.get`, the engine's `GET /images/{name}/json`), tags it as
//!   `REPOSITORY:TAG` and has the engine push it (`api.push` with that token: `POST /images/{name}/push`, the push
//!   `docker push` asks for). Nothing asks ECR first: an existing tag is pushed again. The repository is the
//!   function's in `--image-repositories` when that map is given, else `--image-repository` (111-115).
//! - samcli/lib/package/image_utils.py `tag_translation` (22-54): the remote tag is `NAME-ID12-TAG` for the local
//!   image `NAME:TAG` (`latest` when it has no tag), ID12 the first 12 hex digits of its image ID.
//! - samcli/lib/package/utils.py `upload_local_image_artifacts` (99-132): an `ImageUri` that is already an ECR URL
//!   is not pushed; packageable_resources.py `ResourceImage.export` (286-303): nor one that is not a string.
//! - samcli/lib/build/app_builder.py `_build_lambda_image` (408-512): `sam build` tags the image
//!   `{DockerImage or logical ID, lower case}:{DockerTag or latest}`, built for the function's architecture
//!   (`platform`, 465), and writes that name as the function's `ImageUri` in .aws-sam/build/template.yaml.
//! - samcli/commands/_utils/options.py `get_or_default_template_file_name` (53-99): the template is `--template-file`,
//!   else the first of .aws-sam/build/template.yaml, template.yaml, template.yml, template.json; samconfig is read
//!   from the directory of the template given (the current one by default).
//! - samcli/lib/config/samconfig.py `get_all` (61-95) and samcli/cli/cli_config_file.py (221-245): the config file
//!   is `--config-file` or samconfig.toml, its `[ENV.deploy.parameters]` over `[ENV.global.parameters]`, ENV
//!   `--config-env` or `default`; flags given win over it.
//! - samcli/commands/deploy/command.py (332-337): `--resolve-image-repos` makes the repositories in a companion
//!   stack (`sync_ecr_stack`), whose names are not known before it is deployed.

use std::path::{Path, PathBuf};

use ecr_doctor_checks::facts::{PushPath, Pushed, SamImage};
use serde_yaml::Value;

use super::flags::{self, Flag};
use super::{CommandError, CommandPlan, Env};
use crate::input::SAM_FILE;

/// `sam deploy`'s options (samcli/commands/deploy/command.py and the shared options it takes). Click's
/// `--x/--no-x` pairs are two switches here.
const DEPLOY_FLAGS: &[Flag] = &[
    Flag::switch("guided", Some('g')),
    Flag::value("template-file", Some('t')),
    Flag::value("template", None),
    Flag::switch("no-execute-changeset", None),
    Flag::switch("fail-on-empty-changeset", None),
    Flag::switch("no-fail-on-empty-changeset", None),
    Flag::switch("confirm-changeset", None),
    Flag::switch("no-confirm-changeset", None),
    Flag::switch("disable-rollback", None),
    Flag::switch("no-disable-rollback", None),
    Flag::value("on-failure", None),
    Flag::value("max-wait-duration", None),
    Flag::switch("express", None),
    Flag::switch("no-express", None),
    Flag::value("stack-name", None),
    Flag::value("s3-bucket", None),
    Flag::value("image-repository", None),
    Flag::value("image-repositories", None),
    Flag::switch("force-upload", None),
    Flag::value("s3-prefix", None),
    Flag::value("kms-key-id", None),
    Flag::value("role-arn", None),
    Flag::switch("use-json", None),
    Flag::switch("resolve-s3", None),
    Flag::switch("resolve-image-repos", None),
    Flag::value("metadata", None),
    Flag::value("notification-arns", None),
    Flag::value("tags", None),
    Flag::value("parameter-overrides", None),
    Flag::value("signing-profiles", None),
    Flag::switch("no-progressbar", None),
    Flag::value("capabilities", None),
    Flag::value("language-extensions", None),
    Flag::value("region", None),
    Flag::value("profile", None),
    Flag::value("config-file", None),
    Flag::value("config-env", None),
    Flag::switch("save-params", None),
    Flag::switch("debug", None),
    Flag::switch("beta-features", None),
    Flag::switch("no-beta-features", None),
];

/// Options that take every word up to the next option (SAM's `OptionNargs`).
const NARGS: &[&str] = &[
    "--parameter-overrides",
    "--capabilities",
    "--tags",
    "--notification-arns",
    "--signing-profiles",
];

/// `sam …` (the program's own name already read).
pub fn parse(args: &[String], env: &Env<'_>) -> Result<CommandPlan, CommandError> {
    let p = deploy_flags(args)?;
    let given = p.value("template-file").or_else(|| p.value("template"));
    // samconfig is read beside the template given, else in the current directory.
    let config_dir = match &given {
        Some(t) => env
            .cwd
            .join(t)
            .parent()
            .map_or_else(|| env.cwd.to_path_buf(), Path::to_path_buf),
        None => env.cwd.to_path_buf(),
    };
    let config = samconfig(
        &config_dir,
        p.value("config-file"),
        &p.value("config-env").unwrap_or_else(|| "default".into()),
        env,
    )?;
    let setting = |flag: &str| {
        p.value(flag)
            .or_else(|| config.get(&flag.replace('-', "_")).and_then(text))
    };
    let template = match given.or_else(|| setting("template-file").or_else(|| setting("template")))
    {
        Some(t) => env.cwd.join(t),
        None => [
            ".aws-sam/build/template.yaml",
            "template.yaml",
            "template.yml",
            "template.json",
        ]
        .iter()
        .map(|t| env.cwd.join(t))
        .find(|t| env.files.exists(t))
        .ok_or_else(|| {
            CommandError::NothingPushed(
                "no .aws-sam/build/template.yaml (nor template.yaml): run `sam build` first".into(),
            )
        })?,
    };
    let to = Repositories {
        named: repository_map(&p, &config)?,
        one: setting("image-repository"),
        resolve: p.is_on("resolve-image-repos")
            || config
                .get("resolve_image_repos")
                .and_then(toml::Value::as_bool)
                .unwrap_or(false),
    };
    let pushes: Vec<_> = image_functions(&template, env)?
        .into_iter()
        .map(|function| to.push_of(function, &template, env))
        .collect::<Result<_, _>>()?;
    if pushes.is_empty() {
        return Err(CommandError::NothingPushed(format!(
            "{}: no image function sam deploy would push (PackageType: Image with a local ImageUri)",
            template.display()
        )));
    }
    CommandPlan::of(PushPath::SamDeploy, None, pushes)
}

/// Where `sam deploy` pushes each function's image (ecr_uploader.py 111-115): the map, when given (or made by
/// --resolve-image-repos), else the one repository.
struct Repositories {
    named: Vec<(String, String)>,
    one: Option<String>,
    resolve: bool,
}

impl Repositories {
    /// The reference `sam deploy` pushes `function`'s image to, tagged as SAM tags it.
    fn push_of(
        &self,
        function: SamImage,
        template: &Path,
        env: &Env<'_>,
    ) -> Result<(String, Pushed), CommandError> {
        let named = self
            .named
            .iter()
            .find(|(f, _)| *f == function.function)
            .map(|(_, uri)| uri.clone());
        let uri = match named {
            None if self.named.is_empty() && !self.resolve => self.one.clone(),
            named => named,
        };
        let Some(uri) = uri else {
            return Err(if self.resolve {
                CommandError::NotRead(format!(
                    "--resolve-image-repos: function {}'s repository is made by SAM's companion stack when it \
                     deploys, and is not known before; give --image-repositories {}=URI to check it",
                    function.function, function.function
                ))
            } else if self.named.is_empty() {
                CommandError::Flag(format!(
                    "function {} is an image: sam deploy needs --image-repository, --image-repositories or \
                     --resolve-image-repos (flag or samconfig.toml)",
                    function.function
                ))
            } else {
                CommandError::Flag(format!(
                    "--image-repositories names no repository for function {}",
                    function.function
                ))
            });
        };
        if !ecr_url(&uri) {
            return Err(CommandError::Flag(format!(
                "function {}'s repository '{uri}': not an ECR repository URI (ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME), \
                 which sam deploy refuses too",
                function.function
            )));
        }
        let id = (env.local_image_id)(&function.image)
            .map_err(|why| {
                CommandError::NotRead(format!(
                    "sam deploy tags function {}'s image '{}' by its image ID, which the Docker engine did not \
                     give: {why}",
                    function.function, function.image
                ))
            })?
            .ok_or_else(|| {
                CommandError::NothingPushed(format!(
                    "function {}'s image '{}' (its ImageUri in {}) is not in the Docker engine: run `sam build`",
                    function.function,
                    function.image,
                    template.display()
                ))
            })?;
        let reference = format!("{uri}:{}", remote_tag(&function.image, &id));
        Ok((reference, Pushed::SamImage(function)))
    }
}

/// The flags of `sam deploy`; any other SAM command, or one that asks for its answers as it runs, is refused.
fn deploy_flags(args: &[String]) -> Result<flags::Parsed, CommandError> {
    match args.first().map(String::as_str) {
        Some("deploy") => {}
        Some("sync") => {
            return Err(CommandError::NotRead(
                "'sam sync' builds each image itself before it pushes, so its tag is known only after that build: \
                 run sam build, then check -- sam deploy"
                    .into(),
            ));
        }
        Some(other) => {
            return Err(CommandError::not_a_push(
                &format!("sam {other}"),
                "sam deploy",
            ));
        }
        None => {
            return Err(CommandError::NotRead(
                "sam without a command: give `sam deploy [FLAGS]`".into(),
            ));
        }
    }
    let p = flags::parse(&spread_nargs(&args[1..]), DEPLOY_FLAGS, false)?;
    if let Some(extra) = p.args.first() {
        return Err(CommandError::Flag(format!(
            "sam deploy takes no arguments, got '{extra}'"
        )));
    }
    if p.is_on("guided") {
        return Err(CommandError::NotRead(
            "sam deploy --guided asks for its repositories as it runs: save them (samconfig.toml) and check -- sam \
             deploy"
                .into(),
        ));
    }
    Ok(p)
}

/// `--image-repositories FUNCTION=URI…`, else samconfig.toml's `image_repositories`.
fn repository_map(
    p: &flags::Parsed,
    config: &toml::Table,
) -> Result<Vec<(String, String)>, CommandError> {
    let mut pairs = p.values("image-repositories");
    if pairs.is_empty() {
        pairs = match config.get("image_repositories") {
            Some(toml::Value::Array(items)) => items.iter().filter_map(text).collect(),
            Some(one) => text(one).into_iter().collect(),
            None => vec![],
        };
    }
    pairs
        .iter()
        .map(|pair| {
            pair.split_once('=')
                .filter(|(f, uri)| !f.is_empty() && !uri.is_empty() && !uri.contains('='))
                .map(|(f, uri)| (f.to_string(), uri.to_string()))
                .ok_or_else(|| {
                    CommandError::Flag(format!(
                        "--image-repositories '{pair}': not FUNCTION_LOGICAL_ID=ECR_URI"
                    ))
                })
        })
        .collect()
}

/// `--tags a=1 b=2` as `--tags a=1 --tags b=2`, so the flag reader sees one value per flag.
fn spread_nargs(args: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    // The option taking words, and whether it took one.
    let mut taking: Option<(&str, bool)> = None;
    for a in args {
        if a.starts_with('-') {
            if let Some((flag, false)) = taking {
                out.push(flag.to_string());
            }
            taking = NARGS.iter().find(|n| *n == a).map(|n| (*n, false));
            if taking.is_none() {
                out.push(a.clone());
            }
            continue;
        }
        if let Some((flag, took)) = &mut taking {
            out.push(flag.to_string());
            *took = true;
        }
        out.push(a.clone());
    }
    if let Some((flag, false)) = taking {
        out.push(flag.to_string());
    }
    out
}

/// The remote tag `tag_translation` makes of the local image `NAME[:TAG]` and its image ID (`sha256:…`).
fn remote_tag(image: &str, id: &str) -> String {
    let short: String = id
        .split_once(':')
        .map_or(id, |(_, hex)| hex)
        .chars()
        .take(12)
        .collect();
    let (name, tag) = image.split_once(':').unwrap_or((image, "latest"));
    format!("{name}-{short}-{tag}")
}

/// The parameters of `[ENV.deploy.parameters]` over `[ENV.global.parameters]`; none without a config file.
fn samconfig(
    dir: &Path,
    given: Option<String>,
    config_env: &str,
    env: &Env<'_>,
) -> Result<toml::Table, CommandError> {
    let path: PathBuf = match &given {
        Some(f) => dir.join(f),
        None => dir.join("samconfig.toml"),
    };
    let file_error = |why: String| CommandError::File {
        what: "SAM config file",
        path: path.clone(),
        why,
    };
    if given.is_none() && !env.files.exists(&path) {
        for other in ["samconfig.yaml", "samconfig.yml"] {
            if env.files.exists(&dir.join(other)) {
                return Err(CommandError::NotRead(format!(
                    "{}: only samconfig.toml is read; give the settings as flags",
                    dir.join(other).display()
                )));
            }
        }
        return Ok(toml::Table::new());
    }
    if path.extension().and_then(|e| e.to_str()) != Some("toml") {
        return Err(file_error(
            "only TOML config files are read; give the settings as flags".into(),
        ));
    }
    let text = env
        .files
        .read(&path, SAM_FILE)
        .map_err(|e| file_error(e.to_string()))?;
    let doc: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| file_error(e.message().to_string()))?;
    let section = |cmd: &str| {
        doc.get(config_env)
            .and_then(|e| e.get(cmd))
            .and_then(|c| c.get("parameters"))
            .and_then(toml::Value::as_table)
            .cloned()
            .unwrap_or_default()
    };
    let mut params = section("global");
    params.extend(section("deploy"));
    Ok(params)
}

fn text(v: &toml::Value) -> Option<String> {
    v.as_str().map(String::from)
}

/// The `AWS::Serverless::Function`s (and `AWS::Lambda::Function`s) of the template with `PackageType: Image` and a
/// local image as `ImageUri`.
fn image_functions(template: &Path, env: &Env<'_>) -> Result<Vec<SamImage>, CommandError> {
    let bad = |why: String| CommandError::File {
        what: "SAM template",
        path: template.to_path_buf(),
        why,
    };
    let text = env.files.read(template, SAM_FILE).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            CommandError::NothingPushed(format!(
                "{}: no such template: run `sam build` first",
                template.display()
            ))
        } else {
            bad(e.to_string())
        }
    })?;
    // CloudFormation's short forms (`!Ref`, `!Sub`, `!GetAtt`) are YAML tags: read as tagged values, never
    // evaluated.
    let doc: Value = serde_yaml::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let default_architecture = architecture(&doc["Globals"]["Function"]["Architectures"]);
    let mut out = Vec::new();
    let Some(resources) = doc["Resources"].as_mapping() else {
        return Err(bad("no Resources".into()));
    };
    for (id, resource) in resources {
        let Some(id) = id.as_str() else { continue };
        let properties = &resource["Properties"];
        let image_uri = match resource["Type"].as_str() {
            Some("AWS::Serverless::Function") => &properties["ImageUri"],
            Some("AWS::Lambda::Function") => &properties["Code"]["ImageUri"],
            // sam build builds a child template's functions too, and sam deploy pushes them: not read here, so
            // refused rather than left unchecked.
            Some("AWS::Serverless::Application" | "AWS::CloudFormation::Stack") => {
                return Err(CommandError::NotRead(format!(
                    "{}: nested stack {id} is not read yet: its image functions would go unchecked",
                    template.display()
                )));
            }
            _ => continue,
        };
        if properties["PackageType"].as_str() != Some("Image") {
            continue;
        }
        let image = match image_uri {
            Value::Null => {
                return Err(CommandError::NothingPushed(format!(
                    "{}: image function {id} has no ImageUri: run `sam build` (sam deploy pushes the image it \
                     builds)",
                    template.display()
                )));
            }
            Value::String(s) => s,
            // An intrinsic function: SAM pushes nothing for it.
            _ => continue,
        };
        if ecr_url(image) {
            continue;
        }
        out.push(SamImage {
            function: id.to_string(),
            image: image.clone(),
            architecture: architecture(&properties["Architectures"])
                .or_else(|| default_architecture.clone())
                .unwrap_or_else(|| "x86_64".into()),
        });
    }
    Ok(out)
}

/// The one architecture of an `Architectures` list.
fn architecture(v: &Value) -> Option<String> {
    v[0].as_str().map(String::from)
}

/// Whether SAM takes `uri` for an image already in a registry (samcli/lib/package/ecr_utils.py `ECR_URL`): an
/// ECR host, or localhost, before a `/`.
fn ecr_url(uri: &str) -> bool {
    let Some((host, _)) = uri.split_once('/') else {
        return false;
    };
    host.contains(".dkr.ecr.") || host.starts_with("localhost") || host.starts_with("127.0.0.1")
}

#[cfg(test)]
mod tests;
