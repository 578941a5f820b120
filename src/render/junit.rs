//! `--format junit`: JUnit XML for CI test-report views (GitLab, Jenkins, Azure DevOps, GitHub test
//! reporters).
//!
//! One `<testsuite>` for the environment and one per target, one `<testcase>` per finding, named
//! `ID name` with the target (or `environment`) as classname, and a `verdict` property per suite. The
//! report is red exactly when the run exits non-zero: a finding becomes a `<failure>`/`<error>` only when it
//! is not ignored and is at or above `--fail-on` (exit 1) or is an unknown that leaves the run undecided
//! (exit 3) — so a warning never fails a JUnit report unless `--fail-on warn` would fail the run.
//!
//! | finding | JUnit |
//! |---|---|
//! | fail, gating (default) | `<failure type="fail">`: message; evidence and ranked fixes in the text |
//! | warn, gating (`--fail-on warn`) | `<failure type="warn">`, same text |
//! | unknown (default: it leaves the run undecided, exit 3; or `--fail-on unknown`) | `<error type="unknown">`: the check could not run to a verdict, which is what `error` means in JUnit; the text says what would let it decide |
//! | warn or fail, not gating | passed, with the problem, evidence and fixes in `<system-out>` |
//! | unknown with `--allow-undecided`, or an advisory check's under `--fail-on fail` | `<skipped>`: no verdict was reached, and a skipped case is shown (counted, grey) without failing the report — unlike `<error>`, which every CI view counts as red |
//! | skip | `<skipped>` with the check's reason |
//! | ignored (any outcome) | `<skipped>` with `ignored: <reason>`; origin and expiry in the text |
//! | pass | a plain passed test case |

use std::fmt::Write;

use ecr_doctor_checks::{Finding, Outcome};
use quick_junit::{NonSuccessKind, Report as JunitReport, TestCase, TestCaseStatus, TestSuite};

use super::Report;
use crate::policy;

pub fn render(report: &Report) -> String {
    let mut junit = JunitReport::new(report.tool.name);
    let fail_on = report.summary.fail_on.to_string();

    let mut environment = TestSuite::new("environment");
    environment.add_property(("docker-endpoint", report.docker_endpoint.as_str()));
    environment.add_property(("fail-on", fail_on.as_str()));
    environment.add_property(("verdict", report.summary.verdict.as_str()));
    environment.add_test_cases(report.environment_findings().map(|f| test_case(report, f)));
    junit.add_test_suite(environment);

    for target in &report.targets {
        let reference = target.reference.as_str();
        let mut suite = TestSuite::new(reference);
        suite.add_property(("image", reference));
        suite.add_property(("fail-on", fail_on.as_str()));
        suite.add_property(("verdict", target.verdict.as_str()));
        suite.add_test_cases(report.findings_for(target.id).map(|f| test_case(report, f)));
        junit.add_test_suite(suite);
    }

    let mut s = junit.to_string().expect("a JUnit report always serializes");
    if !s.ends_with('\n') {
        s.push('\n');
    }
    // quick-junit drops the C0 controls XML forbids but passes DEL and the C1 controls, which it allows.
    super::encode_controls(s, |c| format!("&#x{c:x};"))
}

fn test_case(report: &Report, f: &Finding) -> TestCase {
    // Red exactly when this finding alone would make the run exit non-zero.
    let alone = policy::finding_verdict(f, report.summary.gate());
    let gating = policy::exit_code(
        alone,
        report.summary.fail_on,
        report.summary.allow_undecided,
    ) != 0;
    let fail_on = report.summary.fail_on.to_string();

    let mut system_out = None;
    let status = if let Some(ignored) = &f.ignored {
        let mut text = format!("{}: {}\nignore ({}", f.outcome, f.message, ignored.origin);
        if let Some(expires) = &ignored.expires {
            let _ = write!(text, ", until {expires}");
        }
        let _ = write!(text, "): {}", ignored.reason);
        let mut status = TestCaseStatus::skipped();
        status
            .set_message(format!("ignored: {}", ignored.reason))
            .set_type("ignored")
            .set_description(text);
        status
    } else {
        match (f.outcome, gating) {
            (Outcome::Pass, _) => TestCaseStatus::success(),
            (Outcome::Skip, _) => {
                let mut status = TestCaseStatus::skipped();
                status.set_message(f.message.as_str()).set_type("skip");
                status
            }
            (Outcome::Unknown, false) => {
                let mut status = TestCaseStatus::skipped();
                status
                    .set_message(f.message.as_str())
                    .set_type("unknown")
                    .set_description(details(f));
                status
            }
            (outcome, true) => {
                let kind = if outcome == Outcome::Unknown {
                    NonSuccessKind::Error
                } else {
                    NonSuccessKind::Failure
                };
                let mut status = TestCaseStatus::non_success(kind);
                status
                    .set_message(f.message.as_str())
                    .set_type(outcome.as_str())
                    .set_description(details(f));
                status
            }
            (outcome, false) => {
                system_out = Some(format!(
                    "{} (not failing the run: --fail-on {fail_on}): {}",
                    outcome.as_str().to_uppercase(),
                    details(f)
                ));
                TestCaseStatus::success()
            }
        }
    };

    let mut case = TestCase::new(format!("{} {}", f.id, f.check), status);
    case.set_classname(super::subject(f));
    if let Some(out) = system_out {
        case.set_system_out(out);
    }
    case
}

/// The message, target, evidence and ranked fixes as plain text, like the human report.
fn details(f: &Finding) -> String {
    let mut s = format!("{}\n", f.message);
    let _ = writeln!(s, "target: {}", super::subject(f));
    if let Some(from) = f.relevelled_from {
        let _ = writeln!(s, "re-levelled by policy from: {from}");
    }
    if !f.evidence.is_empty() {
        s.push_str("evidence:\n");
        for (k, v) in &f.evidence.0 {
            let _ = writeln!(s, "  {k}: {v}");
        }
    }
    if !f.remediation.is_empty() {
        let heading = super::remediation_heading(f.outcome);
        let _ = writeln!(s, "{heading}:");
        for (n, step) in f.remediation.iter().enumerate() {
            let _ = writeln!(s, "  {}. {}", n + 1, step.text);
            for c in &step.commands {
                let _ = writeln!(s, "     $ {c}");
            }
            for l in &step.links {
                let _ = writeln!(s, "     → {l}");
            }
        }
    }
    s
}
