//! Rendering findings: rustc-style text for people, JSON lines for scripts, SARIF for code
//! scanning. Each format is its own module; all render the same sorted findings.

pub mod human;
pub mod json;
pub mod sarif;

use crate::finding::Finding;
use crate::rules::{INTERNAL_ERROR, PARSE_ERROR, by_id};

/// An output format of `loadguard lint`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// rustc-style diagnostics with the source line, carets, why and fix.
    Human,
    /// One JSON object per line and finding.
    Json,
    /// One SARIF 2.1.0 log.
    Sarif,
}

impl Format {
    /// Parses `human`, `json` or `sarif`.
    #[must_use]
    pub fn parse(name: &str) -> Option<Format> {
        match name {
            "human" => Some(Format::Human),
            "json" => Some(Format::Json),
            "sarif" => Some(Format::Sarif),
            _ => None,
        }
    }
}

/// What a run looked at, for the summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Files analyzed (parsed or not).
    pub files: usize,
}

/// Renders `findings` in `format`.
#[must_use]
pub fn render(format: Format, findings: &[Finding], totals: Totals) -> String {
    match format {
        Format::Human => human::render(findings, totals),
        Format::Json => json::render(findings),
        Format::Sarif => sarif::render(findings),
    }
}

/// The "why" and "fix" text shown with a finding of `rule`.
#[must_use]
pub fn explanation(rule: &str) -> (&'static str, &'static str) {
    if let Some(rule) = by_id(rule) {
        return (rule.why, rule.fix);
    }
    match rule {
        PARSE_ERROR => (
            "a file that does not parse cannot be checked, so its bugs would go unreported",
            "fix the syntax error (or exclude generated files with `.gitignore`)",
        ),
        INTERNAL_ERROR => (
            "the analyzer itself failed on this file",
            "report it with the file attached",
        ),
        _ => ("", ""),
    }
}
