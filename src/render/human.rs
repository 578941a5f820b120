//! The doctor-style terminal report: a line per check, evidence and ranked fixes under problems.

use std::fmt::Write;

use colored::{ColoredString, Colorize};
use ecr_doctor_checks::{Finding, Outcome};

use super::Report;
use crate::policy::RunVerdict;

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} · docker: {}",
        "ecr-doctor".bold(),
        report.tool.version,
        report.docker_endpoint
    );
    if !report.command.argv.is_empty() {
        let _ = writeln!(out, "command: {}", report.command.argv.join(" "));
    }
    let width = report
        .findings
        .iter()
        .map(|f| f.check.len())
        .max()
        .unwrap_or(0);

    section(
        &mut out,
        "environment",
        report.environment_findings(),
        width,
    );
    for target in &report.targets {
        let heading = match super::pushed_as(&target.pushed) {
            Some(what) => format!("{}  ({what})", target.reference),
            None => target.reference.to_string(),
        };
        section(&mut out, &heading, report.findings_for(target.id), width);
    }
    if !report.command.not_checked.is_empty() {
        let _ = write!(
            out,
            "\nnot checked (not ECR): {}\n",
            report.command.not_checked.join(", ")
        );
    }
    out.push('\n');
    out.push_str(&summary_line(report));
    out
}

/// The last line of the report, also printed alone when the report goes to a file (--output).
pub fn summary_line(report: &Report) -> String {
    let s = &report.summary;
    let word = s.verdict_word();
    let verdict = match s.verdict {
        RunVerdict::Pass => format!("✓ {word}").green().bold(),
        RunVerdict::Fail => format!("✗ {word}").red().bold(),
        RunVerdict::Undecided => format!("? {word}").magenta().bold(),
    };
    format!(
        "{verdict}: {}  {}\n",
        s.counts(),
        s.policy_note(str::to_string)
    )
}

fn section<'a>(
    out: &mut String,
    title: &str,
    findings: impl Iterator<Item = &'a Finding>,
    width: usize,
) {
    let findings: Vec<&Finding> = findings.collect();
    if findings.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{}", title.bold());
    for f in findings {
        let relevelled = f
            .relevelled_from
            .map(|from| {
                format!(" (re-levelled from {from} by policy)")
                    .dimmed()
                    .to_string()
            })
            .unwrap_or_default();
        let message = format_args!("{}{relevelled}", f.message);
        if let Some(ignored) = &f.ignored {
            // Listed, so nobody wonders where it went, but without the detail of a live problem.
            let until = ignored
                .expires
                .as_deref()
                .map(|d| format!(", until {d}"))
                .unwrap_or_default();
            let note = format!(
                "[ignored {}: {}{until}; {}]",
                f.outcome, ignored.reason, ignored.origin
            );
            let _ = writeln!(
                out,
                "  {} {} {:width$}  {message} {}",
                "~".dimmed(),
                f.id.dimmed(),
                f.check,
                note.dimmed()
            );
            continue;
        }
        let _ = writeln!(
            out,
            "  {} {} {:width$}  {message}",
            mark(f.outcome),
            f.id.dimmed(),
            f.check
        );
        if f.outcome == Outcome::Pass || f.outcome == Outcome::Skip {
            continue;
        }
        for (k, v) in &f.evidence.0 {
            let _ = writeln!(out, "        {} {v}", format!("{k}:").dimmed());
        }
        if !f.remediation.is_empty() {
            let heading = super::remediation_heading(f.outcome);
            let _ = writeln!(out, "        {}", format!("{heading}:").bold());
            for (n, step) in f.remediation.iter().enumerate() {
                let _ = writeln!(out, "          {}. {}", n + 1, step.text);
                for c in &step.commands {
                    let _ = writeln!(out, "             {} {}", "$".dimmed(), c.cyan());
                }
                for l in &step.links {
                    let _ = writeln!(out, "             {} {}", "→".dimmed(), l.dimmed());
                }
            }
        }
    }
}

fn mark(o: Outcome) -> ColoredString {
    match o {
        Outcome::Pass => "✓".green(),
        Outcome::Warn => "!".yellow().bold(),
        Outcome::Fail => "✗".red().bold(),
        Outcome::Skip => "-".dimmed(),
        Outcome::Unknown => "?".magenta().bold(),
    }
}
