//! Policy, applied in one place after the checks: severity overrides, ignores (with their own audit:
//! unmatched and expired ignores become findings), and the exit code.

use ecr_doctor_checks::check::Evidence;
use ecr_doctor_checks::mutability::glob_full_match;
use ecr_doctor_checks::{CheckInfo, EcrRef, Finding, Ignored, Outcome, Remediation, diagnostics};
use jiff::civil::Date;

use crate::cli::FailOn;
use crate::config::{Ignore, Level, Settings};

/// Whether a check runs at all.
pub fn enabled(settings: &Settings) -> impl Fn(&CheckInfo) -> bool + use<'_> {
    move |info: &CheckInfo| !settings.skip.value.contains(&info.id)
}

/// Re-levels, marks ignored findings, and appends the policy's own diagnostics.
pub fn apply(mut findings: Vec<Finding>, settings: &Settings, today: Date) -> Vec<Finding> {
    for f in &mut findings {
        let Some(r) = settings.severity.iter().find(|r| r.check.id == f.id) else {
            continue;
        };
        let to = match r.level {
            Level::Warn => Outcome::Warn,
            Level::Fail => Outcome::Fail,
        };
        if matches!(f.outcome, Outcome::Warn | Outcome::Fail) && f.outcome != to {
            f.relevelled_from = Some(f.outcome);
            f.outcome = to;
        }
    }
    let mut diagnostics = Vec::new();
    for ignore in &settings.ignores {
        if let Some(expired) = ignore.expires.filter(|d| *d < today) {
            diagnostics.push(diagnostic(
                &diagnostics::EXPIRED_IGNORE,
                format!(
                    "the ignore of {} in {} expired on {expired}; its findings count again",
                    ignore.check.name, ignore.origin
                ),
                ignore,
                "Fix the problem and remove the ignore, or renew `expires` with a reason.",
            ));
            continue;
        }
        let mut matched = false;
        for f in findings
            .iter_mut()
            .filter(|f| f.ignored.is_none() && suppresses(ignore, f))
        {
            f.ignored = Some(Ignored {
                reason: ignore.reason.clone(),
                expires: ignore.expires.map(|d| d.to_string()),
                origin: ignore.origin.to_string(),
            });
            matched = true;
        }
        if !matched {
            diagnostics.push(diagnostic(
                &diagnostics::UNMATCHED_IGNORE,
                format!(
                    "the ignore of {} in {} matched nothing in this run",
                    ignore.check.name, ignore.origin
                ),
                ignore,
                "Remove the ignore if its problem is gone, or correct its repositories/tags scope.",
            ));
        }
    }
    findings.extend(diagnostics);
    findings
}

/// An ignore covers problems only (warn, fail, unknown) of its check, within its scope.
fn suppresses(ignore: &Ignore, f: &Finding) -> bool {
    if f.id != ignore.check.id
        || !matches!(f.outcome, Outcome::Warn | Outcome::Fail | Outcome::Unknown)
    {
        return false;
    }
    if ignore.repositories.is_empty() && ignore.tags.is_empty() {
        return true;
    }
    let Some(r) = f.target.as_deref().and_then(|t| EcrRef::parse(t).ok()) else {
        return false;
    };
    let any = |globs: &[String], value: &str| {
        globs.is_empty() || globs.iter().any(|g| glob_full_match(g, value))
    };
    any(&ignore.repositories, &r.repository) && any(&ignore.tags, r.tag.as_deref().unwrap_or(""))
}

fn diagnostic(info: &'static CheckInfo, message: String, ignore: &Ignore, fix: &str) -> Finding {
    let mut evidence = Evidence::default();
    evidence.push("check", ignore.check.name);
    evidence.push("reason", &ignore.reason);
    if let Some(d) = ignore.expires {
        evidence.push("expires", d);
    }
    evidence.push("origin", &ignore.origin);
    Finding {
        id: info.id,
        check: info.name,
        target: None,
        outcome: Outcome::Warn,
        message,
        evidence,
        remediation: vec![Remediation::text(fix)],
        relevelled_from: None,
        ignored: None,
    }
}

/// The outcomes that make the run fail under `--fail-on`.
pub fn fails(fail_on: FailOn, outcome: Outcome) -> bool {
    match fail_on {
        FailOn::Fail => outcome == Outcome::Fail,
        FailOn::Warn => matches!(outcome, Outcome::Fail | Outcome::Warn),
        FailOn::Unknown => matches!(outcome, Outcome::Fail | Outcome::Warn | Outcome::Unknown),
        FailOn::Never => false,
    }
}

/// 1 when a finding that is not ignored is at or above the threshold.
pub fn exit_code(findings: &[Finding], fail_on: FailOn) -> u8 {
    u8::from(
        findings
            .iter()
            .any(|f| f.ignored.is_none() && fails(fail_on, f.outcome)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_cumulative() {
        let cases = [
            (FailOn::Fail, [true, false, false, false, false]),
            (FailOn::Warn, [true, true, false, false, false]),
            (FailOn::Unknown, [true, true, true, false, false]),
            (FailOn::Never, [false; 5]),
        ];
        let outcomes = [
            Outcome::Fail,
            Outcome::Warn,
            Outcome::Unknown,
            Outcome::Skip,
            Outcome::Pass,
        ];
        for (fail_on, want) in cases {
            for (o, w) in outcomes.iter().zip(want) {
                assert_eq!(fails(fail_on, *o), w, "{fail_on:?} {o}");
            }
        }
    }
}
