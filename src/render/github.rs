//! `--format github`: GitHub Actions workflow commands, one annotation per problem, nothing else on
//! stdout: fail → `::error`, warn → `::warning`, unknown → `::notice`, each titled `ID name`, with the
//! message and the target (or `environment`). Passes, skips and ignored findings make no annotation (the
//! step summary lists them). An undecided run (exit 3) ends with one `::error` saying so.
//!
//! The Markdown report for the job summary is the one side effect of this format, so it is kept out of
//! the pure `render`: main calls [`write_step_summary`] after printing.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use ecr_doctor_checks::Outcome;

use super::Report;
use crate::cli::Format;
use crate::error::Error;
use crate::policy::RunVerdict;

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    for f in report.findings.iter().filter(|f| f.ignored.is_none()) {
        let command = match f.outcome {
            Outcome::Fail => "error",
            Outcome::Warn => "warning",
            Outcome::Unknown => "notice",
            Outcome::Pass | Outcome::Skip => continue,
        };
        let _ = writeln!(
            out,
            "::{command} title={}::{}",
            escape_property(&format!("{} {}", f.id, f.check)),
            escape_data(&format!("{} ({})", f.message, super::subject(f)))
        );
    }
    // An undecided run fails the step (exit 3) with no failing finding to point at: say why once.
    let s = &report.summary;
    if s.verdict == RunVerdict::Undecided && s.exit_code != 0 {
        let _ = writeln!(
            out,
            "::error title={}::{}",
            escape_property("ecr-doctor undecided"),
            escape_data(&format!(
                "nothing failed, but {} check(s) could not decide, so the push may still fail ({}; --allow-undecided accepts this)",
                s.unknown,
                s.counts()
            ))
        );
    }
    out
}

/// When `GITHUB_STEP_SUMMARY` names a file (as it does in every GitHub Actions step), appends the
/// Markdown report to it; otherwise does nothing.
pub fn write_step_summary(report: &Report) -> Result<(), Error> {
    match std::env::var_os("GITHUB_STEP_SUMMARY").filter(|v| !v.is_empty()) {
        Some(path) => append_step_summary(report, &PathBuf::from(path)),
        None => Ok(()),
    }
}

fn append_step_summary(report: &Report, path: &Path) -> Result<(), Error> {
    let write = || {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        file.write_all(super::render(report, Format::Markdown).as_bytes())?;
        file.write_all(b"\n")
    };
    write().map_err(|e| Error::Write {
        path: path.to_path_buf(),
        why: e.to_string(),
    })
}

/// A command's message: `%`, CR and LF are encoded (GitHub's `escapeData`).
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A command's property value: as data, plus `:` and `,` (GitHub's `escapeProperty`).
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::FailOn;
    use crate::render::Policy;
    use ecr_doctor_checks::Finding;
    use ecr_doctor_checks::check::Evidence;
    use ecr_doctor_checks::{FindingTarget, TargetId, TargetRef};

    fn policy(fail_on: FailOn) -> Policy {
        Policy {
            fail_on,
            show: Outcome::Pass,
            allow_undecided: false,
            require_push_permission: false,
        }
    }

    fn finding(outcome: Outcome, message: &str) -> Finding {
        Finding {
            id: "ED205",
            check: "push-risk",
            target: Some(FindingTarget {
                id: TargetId::nth(0),
                reference: TargetRef::parse("123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:b")
                    .unwrap(),
            }),
            outcome,
            message: message.into(),
            evidence: Evidence::default(),
            remediation: vec![],
            relevelled_from: None,
            ignored: None,
        }
    }

    #[test]
    fn escapes_per_github_rules() {
        assert_eq!(escape_data("100% a\r\nb: c, d"), "100%25 a%0D%0Ab: c, d");
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }

    #[test]
    fn one_command_per_problem() {
        let report = Report::new(
            "unix:///var/run/docker.sock".into(),
            Default::default(),
            vec![],
            None,
            vec![
                finding(Outcome::Fail, "two\nlines 50%"),
                finding(Outcome::Warn, "w"),
                finding(Outcome::Unknown, "u"),
                finding(Outcome::Pass, "p"),
                finding(Outcome::Skip, "s"),
            ],
            policy(FailOn::Fail),
        );
        assert_eq!(
            render(&report),
            "::error title=ED205 push-risk::two%0Alines 50%25 (123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:b)\n\
             ::warning title=ED205 push-risk::w (123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:b)\n\
             ::notice title=ED205 push-risk::u (123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:b)\n"
        );
    }

    #[test]
    fn an_undecided_run_says_so_once() {
        let report = Report::new(
            "unix:///var/run/docker.sock".into(),
            Default::default(),
            vec![],
            None,
            vec![finding(Outcome::Unknown, "u"), finding(Outcome::Pass, "p")],
            policy(FailOn::Fail),
        );
        assert_eq!(report.summary.exit_code, 3);
        let out = render(&report);
        assert_eq!(out.lines().count(), 2, "{out}");
        assert!(
            out.lines().nth(1).unwrap().starts_with(
                "::error title=ecr-doctor undecided::nothing failed, but 1 check(s) could not decide"
            ),
            "{out}"
        );
    }

    #[test]
    fn step_summary_is_appended() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.md");
        std::fs::write(&path, "earlier step\n").unwrap();
        let report = Report::new(
            "unix:///var/run/docker.sock".into(),
            Default::default(),
            vec![],
            None,
            vec![finding(Outcome::Pass, "fine")],
            policy(FailOn::Fail),
        );
        append_step_summary(&report, &path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        // A run with no target is the checklist, whose Markdown is a page of its own.
        assert!(
            text.starts_with("earlier step\n# Pushing to Amazon ECR from this machine"),
            "{text}"
        );
    }
}
