//! Renderers: a report in, text out. They decide nothing: policy has already set every outcome, marked
//! ignored findings and chosen what is shown.

pub mod github;
pub mod human;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod sarif;

use ecr_doctor_checks::{Finding, Outcome};
use serde::Serialize;

use crate::cli::{FailOn, Format, Show};

pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// Everything a renderer shows.
#[derive(Debug, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool: Tool,
    pub docker_endpoint: String,
    pub targets: Vec<String>,
    /// The config file the policy came from, if any (machine formats point their locations at it).
    pub config_file: Option<String>,
    /// The findings at or above `--show`, ignored ones included (marked).
    pub findings: Vec<Finding>,
    pub summary: Summary,
}

#[derive(Debug, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

/// Counts over every finding, shown or not; an ignored finding counts only as ignored.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
    pub skip: usize,
    pub unknown: usize,
    pub ignored: usize,
    pub fail_on: FailOn,
    pub show: Show,
    pub exit_code: u8,
}

impl Summary {
    /// "1 failed · 1 warning · 0 unknown · 7 passed · 0 skipped[ · 1 ignored]", for every text renderer.
    pub fn counts(&self) -> String {
        let ignored = if self.ignored > 0 {
            format!(" · {} ignored", self.ignored)
        } else {
            String::new()
        };
        let warnings = if self.warn == 1 {
            "warning"
        } else {
            "warnings"
        };
        format!(
            "{} failed · {} {warnings} · {} unknown · {} passed · {} skipped{ignored}",
            self.fail, self.warn, self.unknown, self.pass, self.skip
        )
    }

    pub fn fail_on_name(&self) -> String {
        format!("{:?}", self.fail_on).to_lowercase()
    }
}

impl Report {
    pub fn new(
        docker_endpoint: String,
        targets: Vec<String>,
        config_file: Option<String>,
        findings: Vec<Finding>,
        (fail_on, show, exit_code): (FailOn, Show, u8),
    ) -> Report {
        let count = |o: Outcome| {
            findings
                .iter()
                .filter(|f| f.ignored.is_none() && f.outcome == o)
                .count()
        };
        let summary = Summary {
            pass: count(Outcome::Pass),
            warn: count(Outcome::Warn),
            fail: count(Outcome::Fail),
            skip: count(Outcome::Skip),
            unknown: count(Outcome::Unknown),
            ignored: findings.iter().filter(|f| f.ignored.is_some()).count(),
            fail_on,
            show,
            exit_code,
        };
        let findings = findings
            .into_iter()
            .filter(|f| shown(show, f.outcome))
            .collect();
        Report {
            schema_version: REPORT_SCHEMA_VERSION,
            tool: Tool {
                name: env!("CARGO_PKG_NAME"),
                version: env!("CARGO_PKG_VERSION"),
            },
            docker_endpoint,
            targets,
            config_file,
            findings,
            summary,
        }
    }
}

fn shown(show: Show, outcome: Outcome) -> bool {
    let rank = |o: Outcome| match o {
        Outcome::Pass => Show::Pass,
        Outcome::Skip => Show::Skip,
        Outcome::Unknown => Show::Unknown,
        Outcome::Warn => Show::Warn,
        Outcome::Fail => Show::Fail,
    };
    rank(outcome) >= show
}

/// The report in `format`.
pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Human => human::render(report),
        Format::Json => json::render(report),
        Format::Sarif => sarif::render(report),
        Format::Junit => junit::render(report),
        Format::Github => github::render(report),
        Format::Markdown => markdown::render(report),
    }
}
