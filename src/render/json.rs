//! `--format json`: one document on stdout (schema in docs/json-report.md). Also how every other JSON
//! document (facts files, `checks`/`explain --format json`) is written.

use serde::Serialize;

use super::Report;

pub fn render(report: &Report) -> String {
    to_json(report)
}

/// Pretty JSON with a final newline.
pub fn to_json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string_pretty(value).expect("our types always serialize") + "\n"
}
