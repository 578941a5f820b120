//! The config file: where it is found, what it may say, and how it reads.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ecr_doctor_checks::{Outcome, Severity};
use jiff::civil::Date;
use serde::Deserialize;

use super::{Ignore, Source, bad_setting, find_check};
use crate::cli::{ColorChoice, FailOn, Format};
use crate::error::Error;

pub const FILE_NAME: &str = ".ecr-doctor.toml";

/// What the config file may say.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct ConfigFile {
    pub fail_on: Option<FailOn>,
    pub show: Option<Outcome>,
    pub timeout: Option<f64>,
    pub offline: Option<bool>,
    pub login_check: Option<bool>,
    pub min_token_validity: Option<String>,
    pub allow_undecided: Option<bool>,
    pub require_push_permission: Option<bool>,
    pub skip: Option<Vec<String>>,
    pub format: Option<Format>,
    pub color: Option<ColorChoice>,
    #[serde(default)]
    pub severity: BTreeMap<String, Severity>,
    #[serde(default)]
    pub ignore: Vec<IgnoreEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct IgnoreEntry {
    check: String,
    reason: Option<String>,
    /// A TOML date (`2027-01-31`) or a string holding one.
    expires: Option<toml::Value>,
    #[serde(default)]
    repositories: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
}

/// The first `.ecr-doctor.toml` from `start` upward, else the user's config file.
pub fn discover(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|dir| dir.join(FILE_NAME))
        .find(|p| p.is_file())
        .or_else(|| user_config().filter(|p| p.is_file()))
}

/// `$XDG_CONFIG_HOME/ecr-doctor/config.toml`, else `~/.config/ecr-doctor/config.toml`.
pub fn user_config() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("ecr-doctor/config.toml"))
}

pub(super) fn read(path: &Path) -> Result<ConfigFile, Error> {
    let bad = |why: String| Error::BadConfig {
        path: path.to_path_buf(),
        why,
    };
    let text =
        crate::input::read_file(path, crate::input::CONFIG_FILE).map_err(|e| bad(e.to_string()))?;
    // toml's message spans lines (it quotes the source); keep the first line and the location.
    toml::from_str(&text).map_err(|e| bad(e.message().to_string() + &line_of(&text, e.span())))
}

fn line_of(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    span.map(|s| {
        format!(
            " (line {})",
            text[..s.start.min(text.len())].lines().count().max(1)
        )
    })
    .unwrap_or_default()
}

pub(super) fn ignore_from_file(e: IgnoreEntry, origin: &Source) -> Result<Ignore, Error> {
    let check = find_check(&e.check, origin)?;
    let reason = e.reason.filter(|r| !r.trim().is_empty()).ok_or_else(|| {
        bad_setting(
            origin,
            format!(
                "the ignore of '{}' has no reason: every ignore needs one",
                e.check
            ),
        )
    })?;
    let expires = match e.expires {
        None => None,
        Some(v) => {
            let text = match v {
                toml::Value::String(s) => s,
                toml::Value::Datetime(d) => d.to_string(),
                other => other.to_string(),
            };
            Some(text.parse::<Date>().map_err(|_| {
                bad_setting(
                    origin,
                    format!(
                        "the ignore of '{}' expires on '{text}', which is not a date (YYYY-MM-DD)",
                        e.check
                    ),
                )
            })?)
        }
    };
    Ok(Ignore {
        check,
        reason,
        expires,
        repositories: e.repositories,
        tags: e.tags,
        origin: origin.clone(),
    })
}
