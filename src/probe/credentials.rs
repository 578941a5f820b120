//! The docker CLI's config file: how it would authenticate to each registry host. Presence only — token
//! values are never read into facts.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use ecr_doctor_checks::facts::{Credentials, Fact};
use serde::Deserialize;

use super::{Fill, Plan};
use crate::input::{DOCKER_FILE, read_file};

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct DockerConfig {
    #[serde(default)]
    auths: std::collections::HashMap<String, AuthEntry>,
    #[serde(default)]
    cred_helpers: std::collections::HashMap<String, String>,
    #[serde(default)]
    creds_store: Option<String>,
}

#[derive(Deserialize, Default)]
struct AuthEntry {
    /// Only whether it is non-empty is kept.
    #[serde(default)]
    auth: Option<String>,
}

/// How the docker CLI would authenticate to each target's registry host.
pub fn probe(plan: &Plan) -> Fill {
    let path = super::docker::docker_config_dir().join("config.json");
    let shown = path.display().to_string();
    let config = match read_file(&path, DOCKER_FILE) {
        Ok(text) => serde_json::from_str::<DockerConfig>(&text)
            .map(|c| (c, age(&path)))
            .map_err(|e| format!("{shown}: {e}")),
        // No file: the CLI has no credentials at all, which is an observation, not a failure to observe.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((DockerConfig::default(), None)),
        Err(e) => Err(format!("{shown}: {e}")),
    };
    let found: Vec<_> = plan
        .targets
        .iter()
        .map(|t| {
            let fact = match &config {
                Ok((config, age)) => {
                    Fact::observed(for_host(config, &t.reference.registry, &shown, *age))
                }
                Err(why) => Fact::unavailable(why.clone()),
            };
            (t.key, fact)
        })
        .collect();
    Box::new(move |facts| super::per_target(facts, found, |t, c| t.credentials = c))
}

fn for_host(
    c: &DockerConfig,
    host: &str,
    config_path: &str,
    config_age_secs: Option<u64>,
) -> Credentials {
    // `docker login` may have stored the host with a scheme.
    let entry = c
        .auths
        .get(host)
        .or_else(|| c.auths.get(&format!("https://{host}")));
    let helper = c.cred_helpers.get(host).cloned();
    let store = c.creds_store.clone().filter(|s| !s.is_empty());
    // The helper wins for its host; the store is used otherwise.
    let program = helper
        .as_ref()
        .or(store.as_ref())
        .map(|name| format!("docker-credential-{name}"));
    Credentials {
        config_path: config_path.to_string(),
        missing_programs: program.into_iter().filter(|p| !on_path(p)).collect(),
        helper,
        store,
        logged_in: entry.is_some(),
        inline_token: entry
            .and_then(|e| e.auth.as_deref())
            .is_some_and(|a| !a.is_empty()),
        config_age_secs,
    }
}

fn age(path: &Path) -> Option<u64> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    SystemTime::now()
        .duration_since(modified)
        .ok()
        .map(|d| d.as_secs())
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir: PathBuf| dir.join(program).is_file()))
        .unwrap_or(false)
}
