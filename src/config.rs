//! The effective configuration: command line > environment (`ECR_DOCTOR_*`) > config file > defaults, with
//! where each value came from. The config file is `.ecr-doctor.toml` found from the current directory
//! upward, else `ecr-doctor/config.toml` in the user config dir; `--config` names one, `--no-config` none.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use clap::ArgMatches;
use clap::parser::ValueSource;
use ecr_doctor_checks::{CheckInfo, Outcome, Severity, registry};
use jiff::civil::Date;
use serde::Deserialize;

use crate::cli::{ColorChoice, FailOn, Format, OutputArgs, RunArgs};
use crate::error::Error;

pub const FILE_NAME: &str = ".ecr-doctor.toml";

/// What the config file may say.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ConfigFile {
    fail_on: Option<FailOn>,
    show: Option<Outcome>,
    timeout: Option<f64>,
    offline: Option<bool>,
    allow_undecided: Option<bool>,
    skip: Option<Vec<String>>,
    format: Option<Format>,
    color: Option<ColorChoice>,
    #[serde(default)]
    severity: BTreeMap<String, Severity>,
    #[serde(default)]
    ignore: Vec<IgnoreEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IgnoreEntry {
    check: String,
    reason: Option<String>,
    /// A TOML date (`2027-01-31`) or a string holding one.
    expires: Option<toml::Value>,
    #[serde(default)]
    repositories: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
}

/// Where a setting came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Default,
    File(PathBuf),
    Env(&'static str),
    CommandLine,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::File(p) => write!(f, "{}", p.display()),
            Source::Env(var) => write!(f, "environment {var}"),
            Source::CommandLine => f.write_str("command line"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Sourced<T> {
    pub value: T,
    pub source: Source,
}

/// An ignore, validated: the check exists, a reason is given, the date parses.
#[derive(Debug, Clone)]
pub struct Ignore {
    pub check: &'static CheckInfo,
    pub reason: String,
    pub expires: Option<Date>,
    pub repositories: Vec<String>,
    pub tags: Vec<String>,
    pub origin: Source,
}

#[derive(Debug, Clone)]
pub struct Relevel {
    pub check: &'static CheckInfo,
    pub level: Severity,
    pub origin: Source,
}

/// Every setting of a run, resolved.
#[derive(Debug)]
pub struct Settings {
    pub config_file: Option<PathBuf>,
    pub fail_on: Sourced<FailOn>,
    pub show: Sourced<Outcome>,
    pub timeout: Sourced<f64>,
    pub offline: Sourced<bool>,
    pub allow_undecided: Sourced<bool>,
    pub skip: Sourced<Vec<&'static str>>,
    pub format: Sourced<Format>,
    pub color: Sourced<ColorChoice>,
    pub severity: Vec<Relevel>,
    pub ignores: Vec<Ignore>,
}

impl Settings {
    /// `matches` are the (sub)command's own matches: they tell command line from environment.
    pub fn resolve(
        run: &RunArgs,
        output: &OutputArgs,
        matches: &ArgMatches,
    ) -> Result<Settings, Error> {
        let config_file = if run.no_config {
            None
        } else if let Some(path) = &run.config {
            Some(path.clone())
        } else {
            discover(&std::env::current_dir().unwrap_or_default())
        };
        let file = match &config_file {
            Some(path) => read(path)?,
            None => ConfigFile::default(),
        };
        let file_source = || Source::File(config_file.clone().unwrap_or_default());
        let skip_names = if run.skip.is_empty() {
            None
        } else {
            Some(run.skip.clone())
        };
        let skip = pick(
            matches,
            file_source(),
            "skip",
            skip_names,
            file.skip.clone(),
            vec![],
        );
        let skip = Sourced {
            value: skip
                .value
                .iter()
                .map(|k| find_check(k, &skip.source).map(|c| c.id))
                .collect::<Result<_, _>>()?,
            source: skip.source,
        };

        let mut severity = Vec::new();
        for (key, level) in &file.severity {
            severity.push(Relevel {
                check: find_check(key, &file_source())?,
                level: *level,
                origin: file_source(),
            });
        }
        for spec in &run.severity {
            let origin = source_of(matches, "severity");
            let (key, level) = spec.split_once('=').ok_or_else(|| {
                bad_setting(&origin, format!("--severity '{spec}' is not CHECK=LEVEL"))
            })?;
            let level = match level.trim() {
                "warn" => Severity::Warn,
                "fail" => Severity::Fail,
                other => {
                    return Err(bad_setting(
                        &origin,
                        format!("--severity {key}: '{other}' is not warn or fail"),
                    ));
                }
            };
            let check = find_check(key.trim(), &origin)?;
            severity.retain(|r: &Relevel| r.check.id != check.id);
            severity.push(Relevel {
                check,
                level,
                origin,
            });
        }

        let mut ignores = Vec::new();
        for entry in file.ignore {
            ignores.push(ignore_from_file(entry, &file_source())?);
        }
        for spec in &run.ignore {
            let origin = source_of(matches, "ignore");
            let (key, reason) = spec
                .split_once('=')
                .filter(|(_, r)| !r.trim().is_empty())
                .ok_or_else(|| {
                    bad_setting(
                        &origin,
                        format!("--ignore '{spec}' is not CHECK=REASON (an ignore needs a reason)"),
                    )
                })?;
            ignores.push(Ignore {
                check: find_check(key.trim(), &origin)?,
                reason: reason.trim().to_string(),
                expires: None,
                repositories: vec![],
                tags: vec![],
                origin,
            });
        }

        Ok(Settings {
            fail_on: pick(
                matches,
                file_source(),
                "fail_on",
                run.fail_on,
                file.fail_on,
                FailOn::Fail,
            ),
            show: pick(
                matches,
                file_source(),
                "show",
                run.show,
                file.show,
                Outcome::Pass,
            ),
            timeout: pick(
                matches,
                file_source(),
                "timeout",
                run.timeout,
                file.timeout
                    .map(validate_timeout)
                    .transpose()
                    .map_err(|e| bad_setting(&file_source(), e))?,
                10.0,
            ),
            offline: pick(
                matches,
                file_source(),
                "offline",
                run.offline,
                file.offline,
                false,
            ),
            allow_undecided: pick(
                matches,
                file_source(),
                "allow_undecided",
                run.allow_undecided,
                file.allow_undecided,
                false,
            ),
            format: pick(
                matches,
                file_source(),
                "format",
                output.format,
                file.format,
                Format::Human,
            ),
            color: pick(
                matches,
                file_source(),
                "color",
                output.color,
                file.color,
                ColorChoice::Auto,
            ),
            skip,
            severity,
            ignores,
            config_file,
        })
    }
}

/// Command line or environment, else the config file, else the default.
fn pick<T>(
    matches: &ArgMatches,
    file: Source,
    id: &str,
    cli: Option<T>,
    from_file: Option<T>,
    default: T,
) -> Sourced<T> {
    match (cli, from_file) {
        (Some(value), _) => Sourced {
            value,
            source: source_of(matches, id),
        },
        (None, Some(value)) => Sourced {
            value,
            source: file,
        },
        (None, None) => Sourced {
            value: default,
            source: Source::Default,
        },
    }
}

fn validate_timeout(v: f64) -> Result<f64, String> {
    if v > 0.0 && v <= 3600.0 {
        Ok(v)
    } else {
        Err(format!("timeout = {v} is not between 0 and 3600 seconds"))
    }
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

fn read(path: &Path) -> Result<ConfigFile, Error> {
    let bad = |why: String| Error::BadConfig {
        path: path.to_path_buf(),
        why,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
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

fn ignore_from_file(e: IgnoreEntry, origin: &Source) -> Result<Ignore, Error> {
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

fn find_check(key: &str, origin: &Source) -> Result<&'static CheckInfo, Error> {
    registry::find(key)
        .map(|c| c.info())
        .ok_or_else(|| match origin {
            Source::File(path) => Error::BadConfig {
                path: path.clone(),
                why: format!("no check named '{key}'"),
            },
            _ => Error::UnknownCheck(key.to_string()),
        })
}

fn bad_setting(origin: &Source, why: String) -> Error {
    match origin {
        Source::File(path) => Error::BadConfig {
            path: path.clone(),
            why,
        },
        _ => Error::Usage(why),
    }
}

fn source_of(matches: &ArgMatches, id: &str) -> Source {
    match matches.value_source(id) {
        Some(ValueSource::EnvVariable) => Source::Env(env_var(id)),
        _ => Source::CommandLine,
    }
}

/// The environment twin of an option id (clap does not expose it from the matches).
fn env_var(id: &str) -> &'static str {
    match id {
        "fail_on" => "ECR_DOCTOR_FAIL_ON",
        "show" => "ECR_DOCTOR_SHOW",
        "timeout" => "ECR_DOCTOR_TIMEOUT",
        "offline" => "ECR_DOCTOR_OFFLINE",
        "allow_undecided" => "ECR_DOCTOR_ALLOW_UNDECIDED",
        "skip" => "ECR_DOCTOR_SKIP",
        "severity" => "ECR_DOCTOR_SEVERITY",
        "ignore" => "ECR_DOCTOR_IGNORE",
        "format" => "ECR_DOCTOR_FORMAT",
        "color" => "ECR_DOCTOR_COLOR",
        _ => "ECR_DOCTOR_*",
    }
}

/// `ecr-doctor config`: the effective configuration as TOML, each value with its source.
pub fn describe(s: &Settings) -> String {
    let mut out = String::new();
    let file = s
        .config_file
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "none".into());
    out += &format!("# config file: {file}\n");
    let line =
        |key: &str, value: String, source: &Source| format!("{key:<15} = {value:<22} # {source}\n");
    out += &line("fail-on", quoted(&s.fail_on.value), &s.fail_on.source);
    out += &line("show", quoted(&s.show.value), &s.show.source);
    out += &line("timeout", format!("{}", s.timeout.value), &s.timeout.source);
    out += &line("offline", s.offline.value.to_string(), &s.offline.source);
    out += &line(
        "allow-undecided",
        s.allow_undecided.value.to_string(),
        &s.allow_undecided.source,
    );
    out += &line("skip", format!("{:?}", s.skip.value), &s.skip.source);
    out += &line("format", quoted(&s.format.value), &s.format.source);
    out += &line("color", quoted(&s.color.value), &s.color.source);
    if !s.severity.is_empty() {
        out += "\n[severity]\n";
        for r in &s.severity {
            out += &line(r.check.name, format!("\"{}\"", r.level), &r.origin);
        }
    }
    for i in &s.ignores {
        out += &format!(
            "\n[[ignore]]  # {}\ncheck = \"{}\"\nreason = {:?}\n",
            i.origin, i.check.name, i.reason
        );
        if let Some(d) = i.expires {
            out += &format!("expires = {d}\n");
        }
        if !i.repositories.is_empty() {
            out += &format!("repositories = {:?}\n", i.repositories);
        }
        if !i.tags.is_empty() {
            out += &format!("tags = {:?}\n", i.tags);
        }
    }
    out
}

fn quoted(v: &impl fmt::Display) -> String {
    format!("\"{v}\"")
}

/// `ecr-doctor init`: a commented starter config.
pub const STARTER: &str = r#"# ecr-doctor configuration. Command-line options and ECR_DOCTOR_* environment variables override it.
# `ecr-doctor config` shows the effective configuration; `ecr-doctor checks` lists the check IDs and names.

# Exit with 1 when a finding that is not ignored is at or above: fail | warn | unknown | never
fail-on = "fail"

# Print findings at or above: pass (everything) | skip | unknown | warn | fail
show = "pass"

# Seconds each probe (Docker or AWS call) may take.
timeout = 10

# Exit 0 instead of 3 when nothing failed but a check could not decide (daemon unreachable, access
# denied, timed out). Fine on a laptop; a CI gate should leave it false: an undecided push may fail.
allow-undecided = false

# Checks not to run (their probes are not run either).
# skip = ["image-store"]

# Re-level a check's problems: "fail" or "warn".
[severity]
# image-shape = "fail"   # treat an attested index to an immutable tag as a failure

# Ignore a check's problems. Every ignore needs a reason; `expires` (a date) makes it temporary, and
# `repositories` / `tags` (wildcards) scope it. Ignored findings are still listed, and an ignore that
# matches nothing, or has expired, is reported.
# [[ignore]]
# check = "tag-collision"
# reason = "the release job re-pushes identical images; it skips existing tags itself"
# expires = 2027-06-30
# repositories = ["team/*"]
# tags = ["release-*"]
"#;
