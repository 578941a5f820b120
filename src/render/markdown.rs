//! `--format markdown`: a GitHub-flavoured Markdown report for a pull-request comment or a job summary
//! (`--format github` appends it to `$GITHUB_STEP_SUMMARY`). A run with no target is the onboarding
//! checklist, a page of its own (checklist.rs).
//!
//! The verdict as a heading; a table of the problems (fail, then warn, then unknown); a collapsible
//! `<details>` per problem with its evidence and ranked fixes (commands in code blocks); passes and skips in
//! one collapsed section; ignored findings with their reasons; the summary line last.

use std::fmt::Write;

use ecr_doctor_checks::{Finding, Outcome};

use super::{Report, Summary};
use crate::policy::RunVerdict;

pub fn render(report: &Report) -> String {
    if report.targets.is_empty() {
        return super::checklist::render(report);
    }
    let s = &report.summary;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## {} ecr-doctor: {}\n",
        verdict_emoji(s.verdict),
        s.verdict_word()
    );
    let _ = writeln!(
        out,
        "ecr-doctor {} · docker: {}{}\n",
        report.tool.version,
        code(&report.docker_endpoint),
        match report.targets.as_slice() {
            [] => String::new(),
            targets => format!(
                " · {}: {}",
                if targets.len() == 1 {
                    "target"
                } else {
                    "targets"
                },
                targets
                    .iter()
                    .map(|t| code(t.reference.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    );
    if !report.command.argv.is_empty() {
        let _ = writeln!(out, "command: {}\n", code(&report.command.argv.join(" ")));
    }
    if !report.command.not_checked.is_empty() {
        let names: Vec<String> = report.command.not_checked.iter().map(|r| code(r)).collect();
        let _ = writeln!(out, "not checked (not ECR): {}\n", names.join(", "));
    }

    let live = |f: &&Finding| f.ignored.is_none();
    let mut problems: Vec<&Finding> = report
        .findings
        .iter()
        .filter(live)
        .filter(|f| f.outcome.is_problem())
        .collect();
    // Most severe first; stable: report order within a level.
    problems.sort_by_key(|f| std::cmp::Reverse(f.outcome));

    if problems.is_empty() {
        out.push_str("No problems found.\n\n");
    } else {
        out.push_str("| | ID | Check | Target | Message |\n|---|---|---|---|---|\n");
        for f in &problems {
            row(&mut out, f);
        }
        out.push('\n');
        for f in &problems {
            details(&mut out, f);
        }
    }

    let fine: Vec<&Finding> = report
        .findings
        .iter()
        .filter(live)
        .filter(|f| !f.outcome.is_problem())
        .collect();
    if !fine.is_empty() {
        let _ = writeln!(
            out,
            "<details>\n<summary>{} passed · {} skipped</summary>\n\n| | ID | Check | Target | Message |\n|---|---|---|---|---|",
            fine.iter().filter(|f| f.outcome == Outcome::Pass).count(),
            fine.iter().filter(|f| f.outcome == Outcome::Skip).count(),
        );
        for f in &fine {
            row(&mut out, f);
        }
        out.push_str("\n</details>\n\n");
    }

    let ignored: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.ignored.is_some())
        .collect();
    if !ignored.is_empty() {
        let _ = writeln!(out, "### 🔕 Ignored ({})\n", ignored.len());
        for f in ignored {
            let i = f.ignored.as_ref().expect("filtered on ignored");
            let expires = i
                .expires
                .as_deref()
                .map(|d| format!(", until {d}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "- {} **{} {}** on {}: {}  \n  ignore ({}{expires}): {}",
                emoji(f.outcome),
                f.id,
                f.check,
                target(f),
                text(&f.message),
                text(&i.origin),
                text(&i.reason)
            );
        }
        out.push('\n');
    }

    out.push_str(&summary_line(s));
    out
}

/// The verdict, the counts and the policy, last in every Markdown page.
pub(super) fn summary_line(s: &Summary) -> String {
    format!(
        "**{} {}**: {}  {}\n",
        verdict_emoji(s.verdict),
        s.verdict_word(),
        s.counts(),
        s.policy_note(code)
    )
}

fn verdict_emoji(v: RunVerdict) -> &'static str {
    match v {
        RunVerdict::Pass => "✅",
        RunVerdict::Fail => "❌",
        RunVerdict::Undecided => "❓",
    }
}

/// One finding as a table row.
fn row(out: &mut String, f: &Finding) {
    let _ = writeln!(
        out,
        "| {} | {} | `{}` | {} | {} |",
        emoji(f.outcome),
        f.id,
        f.check,
        cell(&target(f)),
        cell(&text(&f.message))
    );
}

/// One problem, collapsed: message, evidence, ranked fixes.
fn details(out: &mut String, f: &Finding) {
    let _ = writeln!(
        out,
        "<details>\n<summary>{} <b>{} {}</b> · {}</summary>\n",
        emoji(f.outcome),
        f.id,
        f.check,
        html(super::subject(f))
    );
    finding_body(out, f);
    out.push_str("</details>\n\n");
}

/// A finding's message, evidence and ranked fixes (or what would let it decide).
pub(super) fn finding_body(out: &mut String, f: &Finding) {
    let _ = writeln!(out, "{}\n", text(&f.message));
    if let Some(from) = f.relevelled_from {
        let _ = writeln!(out, "_Re-levelled by policy from {from}._\n");
    }
    if !f.evidence.is_empty() {
        out.push_str("**Evidence**\n\n");
        for (k, v) in &f.evidence.0 {
            let _ = writeln!(out, "- {}: {}", text(k), code(v));
        }
        out.push('\n');
    }
    if !f.remediation.is_empty() {
        let heading = super::remediation_heading(f.outcome);
        let (first, rest) = heading.split_at(1);
        let _ = writeln!(out, "**{}{rest}**\n", first.to_uppercase());
        for (n, step) in f.remediation.iter().enumerate() {
            let _ = writeln!(out, "{}. {}", n + 1, text(&step.text));
            if !step.commands.is_empty() {
                let fence = fence(&step.commands.join("\n"));
                let _ = writeln!(out, "   {fence}sh");
                for c in &step.commands {
                    let _ = writeln!(out, "   {c}");
                }
                let _ = writeln!(out, "   {fence}");
            }
            for l in &step.links {
                let _ = writeln!(out, "   - <{l}>");
            }
        }
        out.push('\n');
    }
}

pub(super) fn emoji(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "✅",
        Outcome::Warn => "⚠️",
        Outcome::Fail => "❌",
        Outcome::Skip => "⏭️",
        Outcome::Unknown => "❓",
    }
}

fn target(f: &Finding) -> String {
    f.reference()
        .map_or_else(|| "environment".to_string(), code)
}

/// Prose from a check, which may hold `code spans`: kept as Markdown, but raw HTML is neutralised outside
/// the code spans (inside them it shows literally anyway) and line breaks become `<br>`.
pub(super) fn text(s: &str) -> String {
    let balanced = s.matches('`').count().is_multiple_of(2);
    s.split('`')
        .enumerate()
        .map(|(i, part)| {
            if balanced && i % 2 == 1 {
                part.replace(['\r', '\n'], " ")
            } else {
                html(part).replace("\r\n", "\n").replace('\n', "<br>")
            }
        })
        .collect::<Vec<_>>()
        .join("`")
}

/// A table cell: pipes escaped (GFM needs that even inside code spans).
pub(super) fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

/// Text for inside an HTML element (`<summary>`).
fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A code span that survives backticks in the value.
pub(super) fn code(s: &str) -> String {
    let longest = longest_backtick_run(s);
    let ticks = "`".repeat(longest + 1);
    let s = s.replace('\n', " ");
    if longest > 0 {
        format!("{ticks} {s} {ticks}")
    } else {
        format!("{ticks}{s}{ticks}")
    }
}

/// A code-block fence longer than any backtick run in the block.
fn fence(s: &str) -> String {
    "`".repeat(longest_backtick_run(s).max(2) + 1)
}

fn longest_backtick_run(s: &str) -> usize {
    s.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_and_fences_survive_backticks() {
        assert_eq!(code("a"), "`a`");
        assert_eq!(code("a`b"), "`` a`b ``");
        assert_eq!(fence("echo hi"), "```");
        assert_eq!(fence("echo ````"), "`````");
    }

    #[test]
    fn text_neutralises_html() {
        assert_eq!(text("26.1.5 (< 28.2.0)"), "26.1.5 (&lt; 28.2.0)");
        assert_eq!(text("run `a && b` <now>"), "run `a && b` &lt;now&gt;");
        assert_eq!(text("one ` <b>"), "one ` &lt;b&gt;");
        assert_eq!(text("two\nlines"), "two<br>lines");
        assert_eq!(cell("a | b"), "a \\| b");
    }
}
