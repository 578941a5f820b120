//! The buildx plugin the docker CLI would run and the builder a build would use, read from the CLI's and
//! buildx's own files and `docker-buildx version`. Read-only: no builder is created, started or inspected
//! through BuildKit (a docker-container builder's image is read from its container, via the Docker API).

use std::path::{Path, PathBuf};
use std::time::Duration;

use bollard::Docker;
use ecr_doctor_checks::facts::{Builder, Buildx, DRIVER_DOCKER, Fact, Facts};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::docker::{context_meta, current_context, docker_config_dir, resolve_endpoint};
use super::{Fill, Plan, bounded, error_chain};
use crate::input::{self, DOCKER_FILE, PLUGIN_OUTPUT, read_file};

/// The docker CLI's system plugin directories on Linux and macOS, in its order (docker/cli
/// `cli-plugins/manager/manager_unix.go`).
const SYSTEM_PLUGIN_DIRS: [&str; 4] = [
    "/usr/local/lib/docker/cli-plugins",
    "/usr/local/libexec/docker/cli-plugins",
    "/usr/lib/docker/cli-plugins",
    "/usr/libexec/docker/cli-plugins",
];

/// Why a docker-driver builder's BuildKit version is unknown.
const ENGINE_BUILDKIT: &str =
    "the docker driver runs the engine's own BuildKit, whose version the engine does not report";

/// What buildx creates a docker-container builder from when no image is configured: a floating tag.
const DEFAULT_BUILDKIT_IMAGE: &str = "moby/buildkit:buildx-stable-1";

pub async fn probe(plan: &Plan) -> Fill {
    let config_dir = docker_config_dir();
    let searched = plugin_dirs(&config_dir);
    let plugin = searched
        .iter()
        .map(|d| d.join("docker-buildx"))
        .find(|p| p.is_file());
    let builder_name = plan.command.builder.clone();
    let (version, builder) = match &plugin {
        None => (
            Fact::unavailable("no docker-buildx plugin"),
            Fact::unavailable("no docker-buildx plugin"),
        ),
        Some(path) => tokio::join!(
            bounded(plan.timeout, "docker-buildx version", version(path)),
            builder(&config_dir, builder_name, plan.timeout),
        ),
    };
    let buildx = Buildx {
        plugin: plugin.map(|p| p.display().to_string()),
        searched: searched.iter().map(|d| d.display().to_string()).collect(),
        version,
        builder,
        // Its own probe's, written after this one.
        compose: Fact::unavailable("not gathered: no probe answered for it"),
    };
    Box::new(move |facts: &mut Facts| facts.buildx = Fact::observed(buildx))
}

/// The Compose plugin in the same directories, whose version decides whether `docker compose build` builds
/// with bake. It is recorded beside the buildx plugin it finds them with.
pub async fn compose_probe(plan: &Plan) -> Fill {
    let compose = match plugin_dirs(&docker_config_dir())
        .iter()
        .map(|d| d.join("docker-compose"))
        .find(|p| p.is_file())
    {
        Some(path) => {
            bounded(
                plan.timeout,
                "docker-compose version",
                compose_version(&path),
            )
            .await
        }
        None => Fact::unavailable("no docker-compose plugin"),
    };
    Box::new(move |facts: &mut Facts| set_compose(facts, compose))
}

/// Writes the Compose fact into the buildx fact, when the buildx probe observed one.
pub fn set_compose(facts: &mut Facts, compose: Fact<String>) {
    if let Fact::Observed { value } = &mut facts.buildx {
        value.compose = compose;
    }
}

/// `cliPluginsExtraDirs` from config.json, then `$DOCKER_CONFIG/cli-plugins`, then the system directories:
/// the order of the CLI's code (docker/cli `cli-plugins/manager/manager.go`, `getPluginDirs`).
fn plugin_dirs(config_dir: &Path) -> Vec<PathBuf> {
    #[derive(Deserialize, Default)]
    struct Config {
        #[serde(rename = "cliPluginsExtraDirs", default)]
        extra: Vec<PathBuf>,
    }
    let config: Config = read_file(&config_dir.join("config.json"), DOCKER_FILE)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    config
        .extra
        .into_iter()
        .chain([config_dir.join("cli-plugins")])
        .chain(SYSTEM_PLUGIN_DIRS.map(PathBuf::from))
        .collect()
}

/// `docker-buildx version`: `github.com/docker/buildx v0.29.1 …` or, from distributions, `… 0.13.1+ds1-3 …`.
async fn version(plugin: &Path) -> Fact<String> {
    let mut command = tokio::process::Command::new(plugin);
    command.arg("version");
    match input::output(command, PLUGIN_OUTPUT).await {
        Err(e) => Fact::unavailable(format!("{} version: {e}", plugin.display())),
        Ok((status, _)) if !status.success() => {
            Fact::unavailable(format!("{} version exited with {status}", plugin.display(),))
        }
        Ok((_, text)) => match text.split_whitespace().nth(1) {
            Some(v) => Fact::observed(v.trim_start_matches('v').to_string()),
            None => Fact::unavailable(format!(
                "{} version printed no version: {}",
                plugin.display(),
                text.trim()
            )),
        },
    }
}

/// `docker-compose version --short`: `2.40.3`, or from distributions `2.40.3-3`.
async fn compose_version(plugin: &Path) -> Fact<String> {
    let mut command = tokio::process::Command::new(plugin);
    command.args(["version", "--short"]);
    match input::output(command, PLUGIN_OUTPUT).await {
        Err(e) => Fact::unavailable(format!("{} version: {e}", plugin.display())),
        Ok((status, _)) if !status.success() => {
            Fact::unavailable(format!("{} version exited with {status}", plugin.display()))
        }
        Ok((_, text)) => match text.split_whitespace().next() {
            Some(v) => Fact::observed(v.trim_start_matches('v').to_string()),
            None => Fact::unavailable(format!("{} version printed nothing", plugin.display())),
        },
    }
}

/// One builder in `buildx/instances/NAME`.
#[derive(Deserialize)]
struct Instance {
    #[serde(rename = "Driver")]
    driver: String,
    #[serde(rename = "Nodes", default)]
    nodes: Vec<Node>,
}

#[derive(Deserialize)]
struct Node {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "DriverOpts", default)]
    driver_opts: Option<std::collections::HashMap<String, String>>,
}

/// `buildx/current`.
#[derive(Deserialize)]
struct Current {
    #[serde(rename = "Key", default)]
    key: String,
    #[serde(rename = "Name", default)]
    name: String,
    #[serde(rename = "Global", default)]
    global: bool,
}

/// The builder buildx would pick: `--builder`, else `BUILDX_BUILDER`, else the one `docker buildx use` made
/// current for this Docker endpoint, else the Docker context's own (docker driver).
async fn builder(config_dir: &Path, flag: Option<String>, timeout: Duration) -> Fact<Builder> {
    let store = std::env::var_os("BUILDX_CONFIG")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| config_dir.join("buildx"));
    let context = current_context(config_dir);
    let env = std::env::var("BUILDX_BUILDER")
        .ok()
        .filter(|b| !b.is_empty());
    let (name, chosen_by) = match (flag, env) {
        (Some(n), _) => (n, "--builder".to_string()),
        (None, Some(n)) => (n, "BUILDX_BUILDER".into()),
        (None, None) => match current(&store, &context) {
            Some(n) => (n, format!("{}", store.join("current").display())),
            None => (
                context.clone(),
                format!("the Docker context '{context}' (no builder selected)"),
            ),
        },
    };
    let file = store.join("instances").join(name.to_lowercase());
    let instance = match read_file(&file, DOCKER_FILE) {
        Ok(text) => match serde_json::from_str::<Instance>(&text) {
            Ok(i) => Some(i),
            Err(e) => return Fact::unavailable(format!("{}: {e}", file.display())),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Fact::unavailable(format!("{}: {e}", file.display())),
    };
    let Some(instance) = instance else {
        if name != context && (name == "default" || context_meta(config_dir, &name).is_file()) {
            // The docker driver builds on that context's engine, not on the one the Docker probe read.
            return Fact::unavailable(format!(
                "builder '{name}' (chosen by {chosen_by}) builds on the Docker context '{name}', while \
                 ecr-doctor read the engine of context '{context}': run it with DOCKER_CONTEXT={name}"
            ));
        }
        if name == context {
            return Fact::observed(Builder {
                name,
                driver: DRIVER_DOCKER.into(),
                chosen_by,
                buildkit: Fact::unavailable(ENGINE_BUILDKIT),
            });
        }
        return Fact::unavailable(format!(
            "no builder '{name}' (chosen by {chosen_by}) in {} and no Docker context of that name: \
             buildx would stop with `no builder \"{name}\" found`",
            store.join("instances").display()
        ));
    };
    let buildkit = match instance.driver.as_str() {
        "docker-container" => container_buildkit(&instance, timeout).await,
        DRIVER_DOCKER => Fact::unavailable(ENGINE_BUILDKIT),
        other => Fact::unavailable(format!(
            "a {other} builder's BuildKit is only known by connecting to it (docker buildx inspect --bootstrap)"
        )),
    };
    Fact::observed(Builder {
        name,
        driver: instance.driver,
        chosen_by,
        buildkit,
    })
}

/// The builder `docker buildx use` recorded for this endpoint (or globally), as buildx reads it
/// (docker/buildx `store/store.go`, `Current`).
fn current(store: &Path, context: &str) -> Option<String> {
    // buildx keys the current builder by context name, or by the Docker host for the default context.
    let key = if context == "default" {
        resolve_endpoint().map(|(host, _)| host).ok()?
    } else {
        context.to_string()
    };
    // A name from buildx's files is a file name only when buildx would accept it.
    let exists = |name: &str| {
        crate::command::valid_builder_name(name)
            && store.join("instances").join(name.to_lowercase()).is_file()
    };
    if let Some(c) = read_file(&store.join("current"), DOCKER_FILE)
        .ok()
        .and_then(|t| serde_json::from_str::<Current>(&t).ok())
        .filter(|c| !c.name.is_empty())
    {
        if c.global && exists(&c.name) {
            return Some(c.name);
        }
        // Recorded for this endpoint: that builder, or (removed since) the context's own.
        if c.key == key {
            return exists(&c.name).then_some(c.name);
        }
    }
    let hash = format!("{:x}", Sha256::digest(key.as_bytes()));
    read_file(&store.join("defaults").join(&hash[..20]), DOCKER_FILE)
        .ok()
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty() && exists(n))
}

/// A docker-container builder's BuildKit: the image of its container `buildx_buildkit_NODE`, or the image
/// buildx would create it from.
async fn container_buildkit(instance: &Instance, timeout: Duration) -> Fact<String> {
    let Some(node) = instance.nodes.first() else {
        return Fact::unavailable("the builder has no node");
    };
    let configured = node
        .driver_opts
        .as_ref()
        .and_then(|o| o.get("image"))
        .cloned();
    let container = format!("buildx_buildkit_{}", node.name);
    let image = bounded(
        timeout,
        "the Docker engine (GET /containers/…/json)",
        async {
            let docker = match resolve_endpoint()
                .and_then(|(host, _)| Docker::connect_with_host(&host).map_err(|e| error_chain(&e)))
            {
                Ok(d) => d.with_timeout(timeout + Duration::from_secs(1)),
                Err(why) => return Fact::unavailable(why),
            };
            match docker.inspect_container(&container, None).await {
                Ok(c) => Fact::observed(c.config.and_then(|c| c.image)),
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 404, ..
                }) => Fact::observed(None),
                Err(e) => Fact::unavailable(error_chain(&e)),
            }
        },
    )
    .await;
    let (image, whose) = match image {
        Fact::Observed { value: Some(i) } => (i, format!("container {container} runs")),
        Fact::Observed { value: None } => match configured {
            Some(i) => (i, format!("{container} is not created yet; its image is")),
            None => (
                DEFAULT_BUILDKIT_IMAGE.to_string(),
                format!("{container} is not created yet; buildx would create it from"),
            ),
        },
        other => return other.map(|_| String::new()),
    };
    match image_version(&image) {
        Some(v) => Fact::observed(v),
        None => Fact::unavailable(format!(
            "{whose} {image}, a tag that names no version (it follows BuildKit's releases)"
        )),
    }
}

/// `moby/buildkit:v0.12.5` → `0.12.5`; floating tags (`buildx-stable-1`, `latest`) name no version.
fn image_version(image: &str) -> Option<String> {
    let tag = image.split('@').next()?.rsplit_once(':')?.1;
    let v = tag.trim_start_matches('v');
    let core = v.split(['-', '+']).next()?;
    let parts: Vec<&str> = core.split('.').collect();
    (parts.len() >= 2 && parts.iter().all(|p| p.parse::<u32>().is_ok())).then(|| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_buildkit_versions_from_image_tags() {
        assert_eq!(
            image_version("moby/buildkit:v0.12.5").as_deref(),
            Some("0.12.5")
        );
        assert_eq!(
            image_version("moby/buildkit:0.8.3-rootless").as_deref(),
            Some("0.8.3-rootless")
        );
        assert_eq!(image_version("moby/buildkit:buildx-stable-1"), None);
        assert_eq!(image_version("moby/buildkit:latest"), None);
        assert_eq!(image_version("moby/buildkit"), None);
        assert_eq!(image_version("localhost:5000/buildkit"), None);
    }

    #[test]
    fn plugin_dirs_follow_the_cli_order() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"cliPluginsExtraDirs":["/opt/plugins"]}"#,
        )
        .unwrap();
        let dirs = plugin_dirs(dir.path());
        assert_eq!(dirs[0], PathBuf::from("/opt/plugins"));
        assert_eq!(dirs[1], dir.path().join("cli-plugins"));
        assert_eq!(dirs[2], PathBuf::from(SYSTEM_PLUGIN_DIRS[0]));
        assert_eq!(dirs.len(), 6);
    }
}
