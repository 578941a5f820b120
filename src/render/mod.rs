//! Renderers: a report in, text out. They decide nothing.

pub mod human;
pub mod json;

use ecr_doctor_checks::{Finding, Outcome};
use serde::Serialize;

use crate::cli::FailOn;
use crate::policy;

pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// Everything a renderer shows.
#[derive(Debug, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool: Tool,
    pub docker_endpoint: String,
    pub targets: Vec<String>,
    pub findings: Vec<Finding>,
    pub summary: Summary,
}

#[derive(Debug, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
    pub skip: usize,
    pub unknown: usize,
    pub fail_on: &'static str,
    pub exit_code: u8,
}

impl Report {
    pub fn new(
        docker_endpoint: String,
        targets: Vec<String>,
        findings: Vec<Finding>,
        fail_on: FailOn,
    ) -> Report {
        let count = |o: Outcome| findings.iter().filter(|f| f.outcome == o).count();
        let summary = Summary {
            pass: count(Outcome::Pass),
            warn: count(Outcome::Warn),
            fail: count(Outcome::Fail),
            skip: count(Outcome::Skip),
            unknown: count(Outcome::Unknown),
            fail_on: match fail_on {
                FailOn::Fail => "fail",
                FailOn::Warn => "warn",
                FailOn::Unknown => "unknown",
                FailOn::Never => "never",
            },
            exit_code: policy::exit_code(&findings, fail_on),
        };
        Report {
            schema_version: REPORT_SCHEMA_VERSION,
            tool: Tool {
                name: env!("CARGO_PKG_NAME"),
                version: env!("CARGO_PKG_VERSION"),
            },
            docker_endpoint,
            targets,
            findings,
            summary,
        }
    }
}
