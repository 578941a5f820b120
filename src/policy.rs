//! Policy, applied in one place after the checks: severity overrides, ignores (with their own audit:
//! unmatched and expired ignores become findings), and the exit code.

use ecr_doctor_checks::check::Evidence;
use ecr_doctor_checks::mutability::glob_full_match;
use ecr_doctor_checks::{CheckInfo, Finding, Ignored, Outcome, Remediation, diagnostics};
use jiff::civil::Date;
use serde::Serialize;

use crate::cli::FailOn;
use crate::config::{Ignore, Settings};

/// Why a check does not run (the user skipped it), or `None` when it runs.
pub fn skipped(settings: &Settings) -> impl Fn(&CheckInfo) -> Option<String> + use<'_> {
    move |info: &CheckInfo| {
        settings
            .skip
            .value
            .contains(&info.id)
            .then(|| format!("skipped by --skip ({})", settings.skip.source))
    }
}

/// Re-levels, marks ignored findings, and appends the policy's own diagnostics.
pub fn apply(mut findings: Vec<Finding>, settings: &Settings, today: Date) -> Vec<Finding> {
    for f in &mut findings {
        let Some(r) = settings.severity.iter().find(|r| r.check.id == f.id) else {
            continue;
        };
        let to = r.level.outcome();
        if f.outcome >= Outcome::Warn && f.outcome != to {
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
    if f.id != ignore.check.id || !f.outcome.is_problem() {
        return false;
    }
    if ignore.repositories.is_empty() && ignore.tags.is_empty() {
        return true;
    }
    let Some(r) = f.target.as_ref().map(|t| &t.reference) else {
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
        FailOn::Warn => outcome >= Outcome::Warn,
        FailOn::Unknown => outcome.is_problem(),
        FailOn::Never => false,
    }
}

/// What a run, or one target of it, concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunVerdict {
    /// Nothing at or above `--fail-on`, and every check decided.
    Pass,
    /// A finding that is not ignored is at or above `--fail-on` (`fail` under report-only `never`).
    Fail,
    /// Nothing failed, but a check that is not ignored could not decide: the push may still fail.
    Undecided,
}

impl RunVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            RunVerdict::Pass => "pass",
            RunVerdict::Fail => "fail",
            RunVerdict::Undecided => "undecided",
        }
    }
}

/// What decides a verdict: the `--fail-on` threshold, and whether push-permission's unknown counts like any
/// other (`--require-push-permission`) instead of being advisory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gate {
    pub fail_on: FailOn,
    pub require_push_permission: bool,
}

impl From<FailOn> for Gate {
    fn from(fail_on: FailOn) -> Gate {
        Gate {
            fail_on,
            require_push_permission: false,
        }
    }
}

/// Fail beats undecided beats pass; ignored findings count for nothing.
pub fn verdict<'a>(findings: impl IntoIterator<Item = &'a Finding>, gate: Gate) -> RunVerdict {
    let mut verdict = RunVerdict::Pass;
    for f in findings {
        match finding_verdict(f, gate) {
            RunVerdict::Fail => return RunVerdict::Fail,
            RunVerdict::Undecided => verdict = RunVerdict::Undecided,
            RunVerdict::Pass => {}
        }
    }
    verdict
}

/// What one finding does to its run: fails it (at or above `--fail-on`), leaves it undecided (an unknown),
/// or neither (below `--fail-on`, or ignored).
pub fn finding_verdict(f: &Finding, gate: Gate) -> RunVerdict {
    // Report only still reports what the default gate would conclude; only the exit code is 0.
    let fail_on = match gate.fail_on {
        FailOn::Never => FailOn::Fail,
        other => other,
    };
    if f.ignored.is_some() {
        RunVerdict::Pass
    } else if fails(fail_on, f.outcome) {
        RunVerdict::Fail
    } else if f.outcome == Outcome::Unknown
        && !(fail_on == FailOn::Fail && advisory(f, gate).is_some())
    {
        RunVerdict::Undecided
    } else {
        RunVerdict::Pass
    }
}

/// What the summary line says for an unknown of an advisory check (under `--fail-on fail` its unknown alone
/// does not make the run undecided): pull-through-cache, which can at most warn, and push-permission, whose
/// simulation most CI roles may not run, unless `--require-push-permission`.
pub fn advisory(f: &Finding, gate: Gate) -> Option<&'static str> {
    if gate.require_push_permission && f.check == ecr_doctor_checks::PUSH_PERMISSION {
        return None;
    }
    ecr_doctor_checks::registry::find(f.check).and_then(|c| c.info().advisory)
}

/// The advisory unknowns that left the run decided, once each, for the summary line: the run is not
/// silent about what it did not verify.
pub fn not_verified<'a>(
    findings: impl IntoIterator<Item = &'a Finding>,
    gate: Gate,
) -> Vec<&'static str> {
    let mut notes: Vec<&'static str> = findings
        .into_iter()
        .filter(|f| f.outcome == Outcome::Unknown && f.ignored.is_none())
        .filter(|f| finding_verdict(f, gate) == RunVerdict::Pass)
        .filter_map(|f| advisory(f, gate))
        .collect();
    notes.sort_unstable();
    notes.dedup();
    notes
}

/// 0 pass, 1 fail, 3 undecided (0 when the user accepts undecided runs); `--fail-on never` reports only
/// and always exits 0 (usage and internal errors still exit 2, before any report).
pub fn exit_code(verdict: RunVerdict, fail_on: FailOn, allow_undecided: bool) -> u8 {
    match verdict {
        _ if fail_on == FailOn::Never => 0,
        RunVerdict::Pass => 0,
        RunVerdict::Fail => 1,
        RunVerdict::Undecided if allow_undecided => 0,
        RunVerdict::Undecided => 3,
    }
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

    fn finding(outcome: Outcome, ignored: bool) -> Finding {
        Finding {
            id: "ED205",
            check: "push-risk",
            target: None,
            outcome,
            message: String::new(),
            evidence: Evidence::default(),
            remediation: vec![],
            relevelled_from: None,
            ignored: ignored.then(|| Ignored {
                reason: "r".into(),
                expires: None,
                origin: "command line".into(),
            }),
        }
    }

    /// Every --fail-on × (worst live outcome) × --allow-undecided: the verdict and the exit code.
    #[test]
    fn an_undecided_run_is_never_ok() {
        use Outcome::{Fail, Pass, Skip, Unknown, Warn};
        use RunVerdict::Undecided;
        // (fail-on, outcomes of the run, verdict)
        let cases: &[(FailOn, &[Outcome], RunVerdict)] = &[
            (FailOn::Fail, &[Pass, Skip], RunVerdict::Pass),
            (FailOn::Fail, &[Pass, Warn], RunVerdict::Pass),
            (FailOn::Fail, &[Pass, Unknown], Undecided),
            (FailOn::Fail, &[Unknown, Warn], Undecided),
            (FailOn::Fail, &[Unknown, Fail], RunVerdict::Fail),
            (FailOn::Warn, &[Unknown, Warn], RunVerdict::Fail),
            (FailOn::Warn, &[Unknown, Pass], Undecided),
            (FailOn::Unknown, &[Unknown, Pass], RunVerdict::Fail),
            (FailOn::Never, &[Pass, Warn], RunVerdict::Pass),
            (FailOn::Never, &[Fail, Warn], RunVerdict::Fail),
            (FailOn::Never, &[Fail, Unknown], RunVerdict::Fail),
            (FailOn::Never, &[Pass, Unknown], Undecided),
        ];
        for (fail_on, outcomes, want) in cases {
            let findings: Vec<Finding> = outcomes.iter().map(|o| finding(*o, false)).collect();
            assert!(not_verified(&findings, (*fail_on).into()).is_empty());
            let got = verdict(&findings, (*fail_on).into());
            assert_eq!(got, *want, "{fail_on:?} {outcomes:?}");
            let (strict, relaxed) = (
                exit_code(got, *fail_on, false),
                exit_code(got, *fail_on, true),
            );
            match want {
                _ if *fail_on == FailOn::Never => assert_eq!((strict, relaxed), (0, 0)),
                RunVerdict::Pass => assert_eq!((strict, relaxed), (0, 0)),
                RunVerdict::Fail => assert_eq!((strict, relaxed), (1, 1)),
                Undecided => assert_eq!((strict, relaxed), (3, 0)),
            }
        }
        // An ignored unknown or failure decides nothing.
        let ignored = [
            finding(Unknown, true),
            finding(Fail, true),
            finding(Pass, false),
        ];
        assert_eq!(verdict(&ignored, FailOn::Fail.into()), RunVerdict::Pass);
    }

    /// The unknown of a check that can at most warn leaves a `--fail-on fail` run decided and is named in
    /// the summary; a stricter gate counts it like any other unknown.
    #[test]
    fn an_advisory_unknown_is_said_and_gates_only_a_stricter_run() {
        let ptc = Finding {
            id: "ED107",
            check: "pull-through-cache",
            ..finding(Outcome::Unknown, false)
        };
        let run = [finding(Outcome::Pass, false), ptc];
        let cases = [
            (FailOn::Fail, RunVerdict::Pass, 1),
            (FailOn::Never, RunVerdict::Pass, 1),
            (FailOn::Warn, RunVerdict::Undecided, 0),
            (FailOn::Unknown, RunVerdict::Fail, 0),
        ];
        for (fail_on, want, notes) in cases {
            assert_eq!(verdict(&run, fail_on.into()), want, "{fail_on:?}");
            assert_eq!(
                not_verified(&run, fail_on.into()).len(),
                notes,
                "{fail_on:?}"
            );
        }
        assert_eq!(
            not_verified(&run, FailOn::Fail.into()),
            [
                "pull-through cache namespaces not verified (needs ecr:DescribePullThroughCacheRules)"
            ]
        );
    }

    /// push-permission's unknown is advisory like pull-through-cache's, until `--require-push-permission`
    /// makes it count like any other (exit 3); the other advisory check stays advisory.
    #[test]
    fn require_push_permission_makes_its_unknown_count() {
        let unknown = |id, check| Finding {
            id,
            check,
            ..finding(Outcome::Unknown, false)
        };
        let perm = unknown("ED108", "push-permission");
        let ptc = unknown("ED107", "pull-through-cache");
        let gate = |require_push_permission| Gate {
            fail_on: FailOn::Fail,
            require_push_permission,
        };
        let run = [finding(Outcome::Pass, false), perm.clone()];
        assert_eq!(verdict(&run, gate(false)), RunVerdict::Pass);
        assert_eq!(
            not_verified(&run, gate(false)),
            ["push permission not verified (needs iam:SimulatePrincipalPolicy)"]
        );
        assert_eq!(verdict(&run, gate(true)), RunVerdict::Undecided);
        assert!(not_verified(&run, gate(true)).is_empty());
        assert_eq!(exit_code(verdict(&run, gate(true)), FailOn::Fail, false), 3);
        let both = [perm, ptc];
        assert_eq!(verdict(&both, gate(true)), RunVerdict::Undecided);
        assert_eq!(
            not_verified(&both, gate(true)),
            [
                "pull-through cache namespaces not verified (needs ecr:DescribePullThroughCacheRules)"
            ]
        );
    }
}
