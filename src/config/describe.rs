//! The configuration shown back: `ecr-doctor config` and `ecr-doctor init`'s starter file.

use std::fmt;

use super::{
    DEFAULT_FAIL_ON, DEFAULT_MIN_TOKEN_VALIDITY, DEFAULT_SHOW, DEFAULT_TIMEOUT_SECS, Settings,
    Source,
};

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
        "login-check",
        s.login_check.value.to_string(),
        &s.login_check.source,
    );
    out += &line(
        "min-token-validity",
        format!("\"{}s\"", s.min_token_validity.value),
        &s.min_token_validity.source,
    );
    out += &line(
        "allow-undecided",
        s.allow_undecided.value.to_string(),
        &s.allow_undecided.source,
    );
    out += &line(
        "require-push-permission",
        s.require_push_permission.value.to_string(),
        &s.require_push_permission.source,
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
pub fn starter() -> String {
    let exit_codes = crate::cli::exit_codes_text("#   ");
    let exit_codes = exit_codes.trim_end();
    format!(
        r#"# ecr-doctor configuration. Command-line options and ECR_DOCTOR_* environment variables override it.
# `ecr-doctor config` shows the effective configuration; `ecr-doctor checks` lists the check IDs and names.

# Exit codes:
{exit_codes}
# Exit with 1 when a finding that is not ignored is at or above: fail | warn | unknown | never (report
# only: always exit 0).
fail-on = "{DEFAULT_FAIL_ON}"

# Print findings at or above: pass (everything) | skip | unknown | warn | fail
show = "{DEFAULT_SHOW}"

# Seconds each probe (Docker or AWS call) may take.
timeout = {DEFAULT_TIMEOUT_SECS}

# Ask the registry (GET https://HOST/v2/) whether it answers and accepts the credential docker would send.
login-check = true

# A stored registry token that expires sooner than this warns: a build that outlives it fails at the push.
min-token-validity = "{DEFAULT_MIN_TOKEN_VALIDITY}"

# Exit 0 instead of 3 when nothing failed but a check could not look (see exit code 3). Fine on a
# laptop; a CI gate should leave it false: an undecided push may fail.
allow-undecided = false

# Count push-permission's unknown (IAM's policy simulator not allowed or not asked: the push permission is not
# verified) like any other unknown, exit 3, instead of only saying it on the summary line.
require-push-permission = false

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
"#
    )
}
