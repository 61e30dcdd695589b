//! What the analyzer reports: one [`Finding`] per problem, with a [`Severity`].

use std::fmt;

/// How serious a finding is; configurable per rule in `loadguard.toml`.
///
/// Any finding fails the run (exit 1) whatever its severity: severity only changes how the
/// finding is shown (`error[..]`/`warning[..]`/`note[..]`, and the SARIF `level`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth a look.
    Note,
    /// Probably a bug.
    Warning,
    /// A bug in the shapes the rule knows.
    Error,
}

impl Severity {
    /// The name used in output and in `loadguard.toml`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    /// Parses a name as written in `loadguard.toml`.
    #[must_use]
    pub fn parse(name: &str) -> Option<Severity> {
        match name {
            "note" => Some(Severity::Note),
            "warning" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem found in one file.
///
/// Lines are 1-based; columns are 1-based and count Unicode scalar values (characters), as
/// rustc does; `end_column` is one past the last character of the span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The rule id (`unowned_handle`, …), or `parse_error` for a file that does not parse.
    pub rule: &'static str,
    /// The severity after configuration.
    pub severity: Severity,
    /// The file, as it was given or walked, with `/` separators.
    pub file: String,
    /// First line of the span.
    pub line: usize,
    /// First column of the span.
    pub column: usize,
    /// Last line of the span.
    pub end_line: usize,
    /// One past the last column of the span (on `end_line`).
    pub end_column: usize,
    /// What is wrong here, naming the variables and calls involved.
    pub message: String,
    /// The source text of `line`, for rustc-style output.
    pub source_line: String,
}

impl Finding {
    /// The order findings are reported in: by file, then position, then rule.
    #[must_use]
    pub fn sort_key(&self) -> (&str, usize, usize, &str) {
        (&self.file, self.line, self.column, self.rule)
    }
}
