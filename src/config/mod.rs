//! The effective configuration: command line > environment (`ECR_DOCTOR_*`) > config file > defaults, with
//! where each value came from. The config file is `.ecr-doctor.toml` found from the current directory
//! upward, else `ecr-doctor/config.toml` in the user config dir; `--config` names one, `--no-config` none.

use std::fmt;
use std::path::PathBuf;

use clap::ArgMatches;
use clap::parser::ValueSource;
use ecr_doctor_checks::{CheckInfo, Outcome, Severity, registry};
use jiff::civil::Date;

use crate::cli::{ColorChoice, FailOn, Format, OutputArgs, RunArgs};
use crate::error::Error;

mod describe;
mod file;

pub use describe::{describe, starter};
pub use file::FILE_NAME;
use file::{ConfigFile, discover, ignore_from_file, read};

/// The defaults: the resolver, `ecr-doctor init`'s starter file and (a test holds them to it) the
/// `--help` texts all state these.
pub const DEFAULT_FAIL_ON: FailOn = FailOn::Fail;
pub const DEFAULT_SHOW: Outcome = Outcome::Pass;
pub const DEFAULT_TIMEOUT_SECS: f64 = 10.0;
/// A CI build-and-push runs the check, then builds, then pushes: most such jobs finish within the hour, so a
/// stored token that still has an hour left will last to the push (aws/aws-toolkit-azure-devops#129: a token
/// that expired mid-job). The ECR credential helper mints a token per push and is never held to it.
pub const DEFAULT_MIN_TOKEN_VALIDITY: &str = "1h";
pub const DEFAULT_FORMAT: Format = Format::Human;
pub const DEFAULT_COLOR: ColorChoice = ColorChoice::Auto;

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
    pub login_check: Sourced<bool>,
    /// Seconds.
    pub min_token_validity: Sourced<u64>,
    pub allow_undecided: Sourced<bool>,
    pub require_push_permission: Sourced<bool>,
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
        let layers = Layers {
            matches,
            file: Source::File(config_file.clone().unwrap_or_default()),
        };
        let timeout = layers.in_file(file.timeout.map(validate_timeout).transpose())?;
        let min_token_validity = layers.in_file(
            file.min_token_validity
                .as_deref()
                .map(|v| {
                    crate::cli::parse_token_validity(v)
                        .map_err(|e| format!("min-token-validity = {e}"))
                })
                .transpose(),
        )?;
        let default_validity = crate::cli::parse_token_validity(DEFAULT_MIN_TOKEN_VALIDITY)
            .expect("the default parses");
        Ok(Settings {
            fail_on: layers.pick("fail_on", run.fail_on, file.fail_on, DEFAULT_FAIL_ON),
            show: layers.pick("show", run.show, file.show, DEFAULT_SHOW),
            timeout: layers.pick("timeout", run.timeout, timeout, DEFAULT_TIMEOUT_SECS),
            offline: layers.pick("offline", run.offline, file.offline, false),
            login_check: layers.pick(
                "no_login_check",
                run.no_login_check.map(|no| !no),
                file.login_check,
                true,
            ),
            min_token_validity: layers.pick(
                "min_token_validity",
                run.min_token_validity,
                min_token_validity,
                default_validity,
            ),
            allow_undecided: layers.pick(
                "allow_undecided",
                run.allow_undecided,
                file.allow_undecided,
                false,
            ),
            require_push_permission: layers.pick(
                "require_push_permission",
                run.require_push_permission,
                file.require_push_permission,
                false,
            ),
            format: layers.pick("format", output.format, file.format, DEFAULT_FORMAT),
            color: layers.pick("color", output.color, file.color, DEFAULT_COLOR),
            skip: skip(run, &file, &layers)?,
            severity: relevels(run, &file, &layers)?,
            ignores: ignores(run, file.ignore, &layers)?,
            config_file,
        })
    }
}

/// Where a setting can come from besides its default: the command line or its environment twin (which
/// `matches` tell apart), else the config file.
struct Layers<'m> {
    matches: &'m ArgMatches,
    file: Source,
}

impl Layers<'_> {
    /// A config file value, validated: an invalid one names the file.
    fn in_file<T>(&self, value: Result<T, String>) -> Result<T, Error> {
        value.map_err(|e| bad_setting(&self.file, e))
    }

    /// Command line or environment, else the config file, else the default.
    fn pick<T>(&self, id: &str, cli: Option<T>, from_file: Option<T>, default: T) -> Sourced<T> {
        match (cli, from_file) {
            (Some(value), _) => Sourced {
                value,
                source: source_of(self.matches, id),
            },
            (None, Some(value)) => Sourced {
                value,
                source: self.file.clone(),
            },
            (None, None) => Sourced {
                value: default,
                source: Source::Default,
            },
        }
    }
}

/// The checks to skip, by ID, from wherever the list came.
fn skip(
    run: &RunArgs,
    file: &ConfigFile,
    layers: &Layers,
) -> Result<Sourced<Vec<&'static str>>, Error> {
    let cli = (!run.skip.is_empty()).then(|| run.skip.clone());
    let skip = layers.pick("skip", cli, file.skip.clone(), vec![]);
    Ok(Sourced {
        value: skip
            .value
            .iter()
            .map(|k| find_check(k, &skip.source).map(|c| c.id))
            .collect::<Result<_, _>>()?,
        source: skip.source,
    })
}

/// The config file's severity overrides, then the command line's, a later one for the same check replacing
/// an earlier one.
fn relevels(run: &RunArgs, file: &ConfigFile, layers: &Layers) -> Result<Vec<Relevel>, Error> {
    let mut severity = Vec::new();
    for (key, level) in &file.severity {
        severity.push(Relevel {
            check: find_check(key, &layers.file)?,
            level: *level,
            origin: layers.file.clone(),
        });
    }
    for spec in &run.severity {
        let origin = source_of(layers.matches, "severity");
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
    Ok(severity)
}

/// The config file's ignores, then the command line's (`CHECK=REASON`, unscoped, never expiring).
fn ignores(
    run: &RunArgs,
    from_file: Vec<file::IgnoreEntry>,
    layers: &Layers,
) -> Result<Vec<Ignore>, Error> {
    let mut ignores = Vec::new();
    for entry in from_file {
        ignores.push(ignore_from_file(entry, &layers.file)?);
    }
    for spec in &run.ignore {
        let origin = source_of(layers.matches, "ignore");
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
    Ok(ignores)
}

fn validate_timeout(v: f64) -> Result<f64, String> {
    if v > 0.0 && v <= 3600.0 {
        Ok(v)
    } else {
        Err(format!("timeout = {v} is not between 0 and 3600 seconds"))
    }
}

pub(super) fn find_check(key: &str, origin: &Source) -> Result<&'static CheckInfo, Error> {
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

pub(super) fn bad_setting(origin: &Source, why: String) -> Error {
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
        "no_login_check" => "ECR_DOCTOR_NO_LOGIN_CHECK",
        "min_token_validity" => "ECR_DOCTOR_MIN_TOKEN_VALIDITY",
        "allow_undecided" => "ECR_DOCTOR_ALLOW_UNDECIDED",
        "require_push_permission" => "ECR_DOCTOR_REQUIRE_PUSH_PERMISSION",
        "skip" => "ECR_DOCTOR_SKIP",
        "severity" => "ECR_DOCTOR_SEVERITY",
        "ignore" => "ECR_DOCTOR_IGNORE",
        "format" => "ECR_DOCTOR_FORMAT",
        "color" => "ECR_DOCTOR_COLOR",
        _ => "ECR_DOCTOR_*",
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn help_texts_state_the_defaults() {
        let cli = crate::cli::Cli::command();
        let check = cli.find_subcommand("check").expect("a check command");
        for (id, default) in [
            ("fail_on", DEFAULT_FAIL_ON.to_string()),
            ("show", DEFAULT_SHOW.to_string()),
            ("timeout", DEFAULT_TIMEOUT_SECS.to_string()),
            ("min_token_validity", DEFAULT_MIN_TOKEN_VALIDITY.to_string()),
            ("format", DEFAULT_FORMAT.to_string()),
            ("color", DEFAULT_COLOR.to_string()),
        ] {
            let help = check
                .get_arguments()
                .find(|a| a.get_id() == id)
                .and_then(|a| a.get_help())
                .map(|h| h.to_string())
                .unwrap_or_else(|| panic!("--{id} has help"));
            assert!(
                help.contains(&format!("[default: {default}]")),
                "--{id}: {help}"
            );
        }
    }

    #[test]
    fn the_starter_file_is_the_defaults() {
        let file: ConfigFile = toml::from_str(&starter()).expect("the starter file parses");
        assert_eq!(file.fail_on, Some(DEFAULT_FAIL_ON));
        assert_eq!(file.show, Some(DEFAULT_SHOW));
        assert_eq!(file.timeout, Some(DEFAULT_TIMEOUT_SECS));
        assert_eq!(file.allow_undecided, Some(false));
    }
}
