//! Check documentation rendered from each check's single source: `explain` and docs/checks.md.

use std::fmt::Write;

use crate::check::{CheckInfo, Need, Scope};
use crate::registry::CHECKS;

/// The whole of docs/checks.md.
pub fn checks_markdown() -> String {
    let mut s = String::from(
        "# Checks\n\n<!-- Generated from the checks' sources by `ecr-doctor checks --format markdown`; do not edit. -->\n\n\
         Each check has a stable ID and name (both accepted wherever a check is named), a default severity \
         (the level of the problems it reports; policy can re-level it), and the facts it needs — a check \
         whose facts are missing reports `unknown`, never `pass`. Catalog entries (F1–F18) refer to the ECR \
         failure catalog the checks were derived from.\n\n\
         | ID | Name | Default severity | Scope | Needs | Catalog |\n|---|---|---|---|---|---|\n",
    );
    for c in CHECKS {
        let i = c.info();
        let _ = writeln!(
            s,
            "| [{}](#{}) | `{}` | {} | {} | {} | {} |",
            i.id,
            i.slug(),
            i.name,
            i.severity,
            scope(i.scope),
            needs(i.needs),
            i.catalog.join(", ")
        );
    }
    for c in CHECKS {
        s.push('\n');
        s.push_str(&explain_markdown(c.info()));
    }
    s.push_str(
        "\n# Policy diagnostics\n\nNot checks of the push but of the policy (config file and command line): \
         reported as findings so every format shows them.\n",
    );
    for i in crate::diagnostics::ALL {
        s.push('\n');
        s.push_str(&explain_markdown(i));
    }
    s
}

/// One check's documentation as Markdown (also what `explain` prints).
pub fn explain_markdown(i: &CheckInfo) -> String {
    let d = &i.doc;
    let mut s = format!("## {} {}: {}\n\n", i.id, i.name, i.title);
    let catalog = if i.catalog.is_empty() {
        "—".to_string()
    } else {
        i.catalog.join(", ")
    };
    let paths = if i.paths.is_empty() {
        String::new()
    } else {
        let names: Vec<String> = i
            .paths
            .iter()
            .map(|p| format!("`{}`", p.command()))
            .collect();
        format!(" · applies to: {}", names.join(", "))
    };
    let _ = writeln!(
        s,
        "Default severity: **{}** · scope: {} · needs: {} · catalog: {catalog}{paths}\n",
        i.severity,
        scope(i.scope),
        needs(i.needs),
    );
    let _ = writeln!(s, "### What it checks\n\n{}\n", d.what.trim());
    let _ = writeln!(s, "### Why it matters\n\n{}\n", d.why.trim());
    s.push_str("### How to fix (least invasive first)\n\n");
    for (n, fix) in d.fixes.iter().enumerate() {
        let _ = writeln!(s, "{}. {}", n + 1, fix.trim());
    }
    let _ = writeln!(
        s,
        "\n### Example\n\n```text\n{}\n```\n",
        d.example.trim_matches('\n')
    );
    s.push_str("### References\n\n");
    for r in d.references {
        let _ = writeln!(s, "- {r}");
    }
    s
}

fn scope(s: Scope) -> &'static str {
    match s {
        Scope::Environment => "environment",
        Scope::Checklist => "environment runs only (the checklist)",
        Scope::Target => "per image reference",
    }
}

fn needs(n: &[Need]) -> String {
    if n.is_empty() {
        return "nothing (pure)".into();
    }
    n.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(", ")
}
