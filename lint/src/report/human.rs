//! rustc-style text: the rule and message, the location, the source line with carets under the
//! span, then why it matters and how to fix it.

use std::fmt::Write as _;

use super::{Totals, explanation};
use crate::finding::Finding;

/// Renders all findings followed by a one-line summary.
#[must_use]
pub fn render(findings: &[Finding], totals: Totals) -> String {
    let mut out = String::new();
    for finding in findings {
        render_one(&mut out, finding);
        out.push('\n');
    }
    let files = plural(totals.files, "file");
    if findings.is_empty() {
        let _ = writeln!(out, "loadguard lint: no findings in {files}");
    } else {
        let mut with: Vec<&str> = findings.iter().map(|f| f.file.as_str()).collect();
        with.dedup();
        let _ = writeln!(
            out,
            "loadguard lint: {} in {} ({files} checked)",
            plural(findings.len(), "finding"),
            plural(with.len(), "file"),
        );
    }
    out
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Renders one finding.
pub fn render_one(out: &mut String, f: &Finding) {
    let gutter = " ".repeat(f.line.to_string().len());
    let _ = writeln!(out, "{}[{}]: {}", f.severity, f.rule, f.message);
    let _ = writeln!(out, "{gutter}--> {}:{}:{}", f.file, f.line, f.column);
    let _ = writeln!(out, "{gutter} |");
    let _ = writeln!(out, "{} | {}", f.line, f.source_line);
    let _ = writeln!(out, "{gutter} | {}", carets(f));
    let (why, fix) = explanation(f.rule);
    let _ = writeln!(out, "{gutter} |");
    if !why.is_empty() {
        let _ = writeln!(out, "{gutter} = why: {why}");
    }
    if !fix.is_empty() {
        let _ = writeln!(out, "{gutter} = fix: {fix}");
    }
}

/// Spaces (tabs kept, so they line up) up to the span, then one `^` per character of the span
/// on its first line.
fn carets(f: &Finding) -> String {
    let chars: Vec<char> = f.source_line.chars().collect();
    let start = f.column.saturating_sub(1).min(chars.len());
    let end = if f.end_line == f.line {
        f.end_column.saturating_sub(1).min(chars.len())
    } else {
        chars.len()
    };
    let mut out: String = chars[..start]
        .iter()
        .map(|&c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let width = end.saturating_sub(start).max(1);
    out.push_str(&"^".repeat(width));
    out
}
