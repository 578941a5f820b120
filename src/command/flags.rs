//! Command-line flags read as the docker CLI's flag library (spf13/pflag) reads them: `--name value`,
//! `--name=value`, `-x value`, `-xvalue`, `-x=value`, switches as `--name` or `--name=false`, grouped short
//! switches (`-qD`), and `--` ending the flags.

use ecr_doctor_checks::prediction::go_bool;

use super::CommandError;

/// One flag a command accepts.
pub struct Flag {
    pub long: &'static str,
    pub short: Option<char>,
    pub takes_value: bool,
}

impl Flag {
    pub const fn value(long: &'static str, short: Option<char>) -> Flag {
        Flag {
            long,
            short,
            takes_value: true,
        }
    }

    pub const fn switch(long: &'static str, short: Option<char>) -> Flag {
        Flag {
            long,
            short,
            takes_value: false,
        }
    }
}

/// The flags given, in order, and the other arguments.
#[derive(Debug, Default)]
pub struct Parsed {
    flags: Vec<(&'static str, String)>,
    pub args: Vec<String>,
}

impl Parsed {
    pub fn has(&self, long: &str) -> bool {
        self.flags.iter().any(|(l, _)| *l == long)
    }

    /// Every value of a repeatable flag, in order.
    pub fn values(&self, long: &str) -> Vec<String> {
        self.flags
            .iter()
            .filter(|(l, _)| *l == long)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// The last value of a flag (a repeated single-value flag keeps its last, as pflag does).
    pub fn value(&self, long: &str) -> Option<String> {
        self.values(long).pop()
    }

    /// A switch's state: its last `--name[=BOOL]`.
    pub fn is_on(&self, long: &str) -> bool {
        self.value(long)
            .is_some_and(|v| go_bool(&v).unwrap_or(false))
    }
}

/// Reads `args` against `known`. With `stop_at_command`, the first plain argument and everything after it
/// are left unread (a subcommand and its own flags), as the docker CLI does for its global flags.
pub fn parse(
    args: &[String],
    known: &[Flag],
    stop_at_command: bool,
) -> Result<Parsed, CommandError> {
    let mut out = Parsed::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "--" {
            out.args.extend(args[i..].iter().cloned());
            break;
        }
        if let Some(body) = arg.strip_prefix("--") {
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (body, None),
            };
            let flag = known
                .iter()
                .find(|f| f.long == name)
                .ok_or_else(|| CommandError::Flag(format!("unknown flag: --{name}")))?;
            let value = match (flag.takes_value, inline) {
                (true, Some(v)) => v,
                (true, None) => {
                    i += 1;
                    args.get(i - 1).cloned().ok_or_else(|| {
                        CommandError::Flag(format!("flag needs an argument: --{name}"))
                    })?
                }
                (false, Some(v)) => {
                    go_bool(&v).ok_or_else(|| {
                        CommandError::Flag(format!("invalid argument \"{v}\" for --{name}"))
                    })?;
                    v
                }
                (false, None) => "true".into(),
            };
            out.flags.push((flag.long, value));
        } else if let Some(shorts) = arg.strip_prefix('-').filter(|s| !s.is_empty()) {
            // `-qD`: switches; the first flag that takes a value takes the rest (or the next argument).
            for (at, c) in shorts.char_indices() {
                let flag = known.iter().find(|f| f.short == Some(c)).ok_or_else(|| {
                    CommandError::Flag(format!("unknown shorthand flag: '{c}' in {arg}"))
                })?;
                if !flag.takes_value {
                    out.flags.push((flag.long, "true".into()));
                    continue;
                }
                let rest = &shorts[at + c.len_utf8()..];
                let value = if let Some(v) = rest.strip_prefix('=') {
                    v.to_string()
                } else if !rest.is_empty() {
                    rest.to_string()
                } else {
                    i += 1;
                    args.get(i - 1).cloned().ok_or_else(|| {
                        CommandError::Flag(format!("flag needs an argument: '{c}' in -{c}"))
                    })?
                };
                out.flags.push((flag.long, value));
                break;
            }
        } else {
            out.args.push(arg.clone());
            if stop_at_command {
                out.args.extend(args[i..].iter().cloned());
                break;
            }
        }
    }
    Ok(out)
}
