//! `docker compose push` and `docker compose build --push` read as Compose reads its project: the compose
//! files (`-f`, else `COMPOSE_FILE`, else the first default name found from the working directory upward,
//! with its override file), `.env` interpolation (the shell wins over `.env`), profiles (`--profile`,
//! `COMPOSE_PROFILES`) and the services named. Both push each service that has both `build` and `image`:
//! `image` and every `build.tags` entry. `push` does so with the engine's own push, one tag at a time
//! (docker/compose `pkg/compose/push.go`): the `docker push` path. `build --push` builds them with bake and
//! pushes as bake does (`pkg/compose/build_bake.go`).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use super::bake::{Expansion, one_line, substitute};
use super::{CommandError, Files};
use crate::input::BAKE_FILE;

/// Compose's default file names, in the order it looks for them in a directory (compose-go `cli`
/// `DefaultFileNames`), and the override file it adds beside the one found (`DefaultOverrideFileNames`).
const DEFAULT_FILES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];
const OVERRIDE_FILES: [&str; 4] = [
    "compose.override.yml",
    "compose.override.yaml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
];

/// What the compose command line said.
pub struct ComposeInput<'a> {
    /// `-f/--file` values in order; empty: `COMPOSE_FILE`, else the default files.
    pub files: &'a [String],
    pub project_directory: Option<&'a str>,
    pub env_files: &'a [String],
    pub profiles: &'a [String],
    /// Services named after the subcommand; empty: all.
    pub services: &'a [String],
    /// `push --include-deps`: the services they depend on too.
    pub include_deps: bool,
    pub cwd: &'a Path,
    pub env: &'a dyn Fn(&str) -> Option<String>,
    pub fs: &'a dyn Files,
}

/// One service as the merged files define it.
#[derive(Debug, Default, Clone)]
struct Service {
    image: Option<String>,
    build: Option<Build>,
    profiles: Vec<String>,
    depends_on: Vec<String>,
}

/// A service's `build` section, for what a push depends on.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Build {
    pub tags: Vec<String>,
    pub platforms: Vec<String>,
    pub cache_to: Vec<String>,
    /// `provenance` and `sbom`: `true`, `false` or attributes.
    pub provenance: Option<String>,
    pub sbom: Option<String>,
}

impl Build {
    /// The attestations bake is asked for (docker/compose `pkg/compose/build_bake.go`, `toBakeAttest`).
    pub fn attest(&self) -> Vec<String> {
        [("provenance", &self.provenance), ("sbom", &self.sbom)]
            .into_iter()
            .filter_map(|(kind, value)| match value.as_deref()? {
                "" | "false" => None,
                "true" => Some(format!("type={kind}")),
                attrs => Some(format!("type={kind},{attrs}")),
            })
            .collect()
    }
}

/// A service Compose pushes: its name, every reference (`image`, then `build.tags`) and its build.
#[derive(Debug, Clone, PartialEq)]
pub struct Pushing {
    pub service: String,
    pub tags: Vec<String>,
    pub build: Build,
}

/// The services `docker compose push` and `build --push` push, in name order (Compose pushes them
/// concurrently).
pub fn pushing(input: &ComposeInput<'_>) -> Result<Vec<Pushing>, CommandError> {
    let files = files(input)?;
    let project_dir = match input.project_directory {
        Some(d) => input.cwd.join(d),
        None => files[0]
            .parent()
            .map_or_else(|| input.cwd.to_path_buf(), Path::to_path_buf),
    };
    let dotenv = dotenv(&project_dir, input)?;
    let lookup = |name: &str| (input.env)(name).or_else(|| dotenv.get(name).cloned());
    let expansion = Expansion::default();
    let mut services: BTreeMap<String, Service> = BTreeMap::new();
    for path in &files {
        let text = input
            .fs
            .read(path, BAKE_FILE)
            .map_err(|e| CommandError::File {
                what: "compose file",
                path: path.clone(),
                why: e.to_string(),
            })?;
        merge(
            &mut services,
            &path.display().to_string(),
            &text,
            &lookup,
            &expansion,
        )
        .map_err(CommandError::Definition)?;
    }

    let active: HashSet<String> = if input.profiles.is_empty() {
        lookup("COMPOSE_PROFILES")
            .map(|p| p.split(',').map(|s| s.trim().to_string()).collect())
            .unwrap_or_default()
    } else {
        input.profiles.iter().cloned().collect()
    };
    let enabled = |name: &str, s: &Service| {
        s.profiles.is_empty()
            || active.contains("*")
            || s.profiles.iter().any(|p| active.contains(p))
            || input.services.iter().any(|n| n == name)
    };
    let mut chosen: Vec<String> = if input.services.is_empty() {
        services
            .iter()
            .filter(|(n, s)| enabled(n, s))
            .map(|(n, _)| n.clone())
            .collect()
    } else {
        for name in input.services {
            if !services.contains_key(name) {
                return Err(CommandError::NotRead(format!(
                    "compose: no such service: {name}"
                )));
            }
        }
        input.services.to_vec()
    };
    if input.include_deps {
        let mut i = 0;
        while i < chosen.len() {
            for dep in &services[&chosen[i]].depends_on {
                if services.contains_key(dep) && !chosen.contains(dep) {
                    chosen.push(dep.clone());
                }
            }
            i += 1;
        }
        chosen.sort();
    }
    let mut out = Vec::new();
    for name in chosen {
        let s = &services[&name];
        let (Some(build), Some(image)) = (&s.build, &s.image) else {
            continue; // Compose skips a service without both `build` and `image`.
        };
        let mut tags: Vec<String> = Vec::new();
        for tag in std::iter::once(image).chain(&build.tags) {
            if !tags.contains(tag) {
                tags.push(tag.clone());
            }
        }
        out.push(Pushing {
            service: name,
            tags,
            build: build.clone(),
        });
    }
    Ok(out)
}

/// The compose files, as Compose picks them.
fn files(input: &ComposeInput<'_>) -> Result<Vec<PathBuf>, CommandError> {
    let named: Vec<String> = if input.files.is_empty() {
        let separator = (input.env)("COMPOSE_PATH_SEPARATOR").unwrap_or_else(|| ":".into());
        (input.env)("COMPOSE_FILE")
            .map(|f| {
                f.split(separator.as_str())
                    .filter(|p| !p.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    } else {
        input.files.to_vec()
    };
    if let Some(remote) = named.iter().find(|f| *f == "-" || f.contains("://")) {
        return Err(CommandError::File {
            what: "compose file",
            path: remote.into(),
            why: "remote or standard-input compose files are not read".into(),
        });
    }
    if !named.is_empty() {
        return Ok(named.iter().map(|f| input.cwd.join(f)).collect());
    }
    let start = input
        .project_directory
        .map_or_else(|| input.cwd.to_path_buf(), |d| input.cwd.join(d));
    for dir in start.ancestors() {
        if let Some(found) = DEFAULT_FILES
            .iter()
            .map(|f| dir.join(f))
            .find(|p| input.fs.exists(p))
        {
            let mut files = vec![found];
            files.extend(
                OVERRIDE_FILES
                    .iter()
                    .map(|f| dir.join(f))
                    .find(|p| input.fs.exists(p)),
            );
            return Ok(files);
        }
    }
    Err(CommandError::NothingPushed(format!(
        "no compose file in {} or above (looked for {})",
        start.display(),
        DEFAULT_FILES.join(", ")
    )))
}

/// `KEY=VALUE` lines of the project's `.env` (or `--env-file`s), for interpolation; `#` comments, optional
/// `export `, single or double quotes.
fn dotenv(
    project_dir: &Path,
    input: &ComposeInput<'_>,
) -> Result<BTreeMap<String, String>, CommandError> {
    let paths: Vec<PathBuf> = if input.env_files.is_empty() {
        vec![project_dir.join(".env")]
    } else {
        input.env_files.iter().map(|f| input.cwd.join(f)).collect()
    };
    let mut vars = BTreeMap::new();
    for path in paths {
        let text = match input.fs.read(&path, BAKE_FILE) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && input.env_files.is_empty() => {
                continue;
            }
            Err(e) => {
                return Err(CommandError::File {
                    what: "env file",
                    path,
                    why: e.to_string(),
                });
            }
        };
        for line in text.lines() {
            let line = line.trim();
            let line = line.strip_prefix("export ").unwrap_or(line);
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let value = value.trim();
            let value = [('"', '"'), ('\'', '\'')]
                .iter()
                .find_map(|(a, b)| value.strip_prefix(*a)?.strip_suffix(*b))
                .unwrap_or(value);
            vars.insert(key.trim().to_string(), value.to_string());
        }
    }
    Ok(vars)
}

/// One file's services over the earlier files': a later file overrides what it sets.
fn merge(
    services: &mut BTreeMap<String, Service>,
    file: &str,
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    expansion: &Expansion,
) -> Result<(), String> {
    let doc: serde_yaml::Value =
        serde_yaml::from_str(text).map_err(|e| format!("{file}: {}", one_line(&e.to_string())))?;
    let Some(defined) = doc.get("services").and_then(|s| s.as_mapping()) else {
        return Ok(());
    };
    let interpolate =
        |s: &str| substitute(s, lookup, true, expansion).map_err(|e| format!("{file}: {e}"));
    let strings = |v: Option<&serde_yaml::Value>| -> Result<Vec<String>, String> {
        match v {
            None => Ok(vec![]),
            Some(v) => match v.as_sequence() {
                Some(seq) => seq
                    .iter()
                    .filter_map(|i| i.as_str())
                    .map(&interpolate)
                    .collect(),
                None => v.as_str().map(&interpolate).into_iter().collect(),
            },
        }
    };
    for (name, def) in defined {
        let Some(name) = name.as_str() else { continue };
        let s = services.entry(name.to_string()).or_default();
        if let Some(image) = def.get("image").and_then(|i| i.as_str()) {
            s.image = Some(interpolate(image)?);
        }
        if let Some(section) = def.get("build") {
            let build = s.build.get_or_insert_default();
            for (key, slot) in [
                ("tags", &mut build.tags),
                ("platforms", &mut build.platforms),
                ("cache_to", &mut build.cache_to),
            ] {
                let values = strings(section.get(key))?;
                if !values.is_empty() {
                    *slot = values;
                }
            }
            for (key, slot) in [
                ("provenance", &mut build.provenance),
                ("sbom", &mut build.sbom),
            ] {
                match section.get(key) {
                    Some(serde_yaml::Value::Bool(b)) => *slot = Some(b.to_string()),
                    Some(serde_yaml::Value::String(v)) => *slot = Some(interpolate(v)?),
                    _ => {}
                }
            }
        }
        let profiles = strings(def.get("profiles"))?;
        if !profiles.is_empty() {
            s.profiles = profiles;
        }
        match def.get("depends_on") {
            Some(serde_yaml::Value::Mapping(m)) => {
                s.depends_on = m
                    .keys()
                    .filter_map(|k| k.as_str().map(str::to_string))
                    .collect();
            }
            other => {
                let deps = strings(other)?;
                if !deps.is_empty() {
                    s.depends_on = deps;
                }
            }
        }
    }
    Ok(())
}
