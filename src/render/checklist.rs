//! The onboarding checklist as a Markdown page (`ecr-doctor --format markdown` with no target): what a
//! team pastes into its wiki for a new machine. A title, the machine in one table, the ECR registries it is
//! set up to push to in another, then each thing to fix before pushing as a section of its own with its
//! ranked fixes, expanded (a page is read, not skimmed for a verdict), and the summary line last.

use std::fmt::Write;

use ecr_doctor_checks::Finding;

use super::Report;
use super::markdown::{cell, code, emoji, finding_body, summary_line, text};

pub fn render(report: &Report) -> String {
    let mut out = String::from("# Pushing to Amazon ECR from this machine\n\n");
    let _ = writeln!(
        out,
        "Checked by ecr-doctor {} against the Docker engine at {}. Run `ecr-doctor check IMAGE` (or \
         `ecr-doctor check -- YOUR PUSH COMMAND`) before a push for the verdict on that push.\n",
        report.tool.version,
        code(&report.docker_endpoint)
    );
    out.push_str("## This machine\n\n| | Check | What it found |\n|---|---|---|\n");
    let live: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.ignored.is_none())
        .collect();
    let (registries, machine): (Vec<&Finding>, Vec<&Finding>) =
        live.iter().partition(|f| f.check == REGISTRIES);
    for f in &machine {
        let _ = writeln!(
            out,
            "| {} | `{}` ({}) | {} |",
            emoji(f.outcome),
            f.check,
            f.id,
            cell(&text(first_sentence(&f.message)))
        );
    }
    out.push('\n');
    registries_section(&mut out, &registries);

    let mut problems: Vec<&Finding> = live
        .iter()
        .copied()
        .filter(|f| f.outcome.is_problem())
        .collect();
    problems.sort_by_key(|f| std::cmp::Reverse(f.outcome));
    if problems.is_empty() {
        out.push_str("Nothing on this machine stands in the way of a push.\n\n");
    } else {
        out.push_str("## Before you push\n\n");
        for f in problems {
            let about = evidence(f, "registry")
                .map(|host| format!(": {}", code(host)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "### {} `{}` ({}){about}\n",
                emoji(f.outcome),
                f.check,
                f.id
            );
            finding_body(&mut out, f);
        }
    }
    for f in report.findings.iter().filter(|f| f.ignored.is_some()) {
        let i = f.ignored.as_ref().expect("filtered on ignored");
        let _ = writeln!(
            out,
            "- 🔕 `{}` ({}) is ignored ({}): {}",
            f.check,
            f.id,
            text(&i.origin),
            text(&i.reason)
        );
    }
    out.push_str(&summary_line(&report.summary));
    out
}

/// The check whose rows are the registries of the docker config, one each.
const REGISTRIES: &str = "ecr-registries";

/// A table of the registries, from what each row says it is about; a row about no registry (none configured,
/// a store that could not list) as a line of its own.
fn registries_section(out: &mut String, rows: &[&Finding]) {
    if rows.is_empty() {
        return;
    }
    out.push_str("## Registries this machine can push to\n\n");
    let (tabled, lines): (Vec<&Finding>, Vec<&Finding>) =
        rows.iter().partition(|f| evidence(f, "registry").is_some());
    for f in lines {
        let _ = writeln!(out, "{} {}\n", emoji(f.outcome), text(&f.message));
    }
    if tabled.is_empty() {
        return;
    }
    out.push_str(
        "| | Registry | Docker authenticates with | Login | AWS identity |\n|---|---|---|---|---|\n",
    );
    for f in tabled {
        let field = |key| cell(&text(evidence(f, key).unwrap_or("")));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            emoji(f.outcome),
            code(evidence(f, "registry").unwrap_or("")),
            field("authenticates with"),
            field("login"),
            field("AWS identity")
        );
    }
    out.push('\n');
}

fn evidence<'f>(f: &'f Finding, key: &str) -> Option<&'f str> {
    f.evidence
        .0
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// The table shows what a check found; the section below says what it means for a push.
fn first_sentence(message: &str) -> &str {
    message.split_once(". ").map_or(message, |(first, _)| first)
}
