//! `--format json`: one document on stdout (schema in docs/json-report.md). Also how every other JSON
//! document (facts files, `checks`/`explain --format json`) is written.

use serde::Serialize;

use super::Report;

pub fn render(report: &Report) -> String {
    to_json(report)
}

/// Pretty JSON with a final newline, ASCII controls only: serde_json escapes C0 controls, but JSON allows
/// DEL and the C1 controls (U+0080–U+009F, CSI among them) raw, and a terminal showing the document would
/// act on them. They can only occur inside strings, where `\u00XX` means the same character.
pub fn to_json<T: Serialize + ?Sized>(value: &T) -> String {
    let text = serde_json::to_string_pretty(value).expect("our types always serialize") + "\n";
    super::encode_controls(text, |c| format!("\\u{c:04x}"))
}
