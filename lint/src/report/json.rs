//! JSON lines: one object per finding, with at least `rule`, `file`, `line`, `column` and
//! `message` (plus `severity`, `end_line`, `end_column`). Nothing is printed when clean.

use serde_json::json;

use crate::finding::Finding;

/// Renders one JSON object per line.
#[must_use]
pub fn render(findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        let value = json!({
            "rule": f.rule,
            "severity": f.severity.as_str(),
            "file": f.file,
            "line": f.line,
            "column": f.column,
            "end_line": f.end_line,
            "end_column": f.end_column,
            "message": f.message,
        });
        out.push_str(&value.to_string());
        out.push('\n');
    }
    out
}
