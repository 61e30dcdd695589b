//! The rules: one module per rule id, and the registry that lists them.
//!
//! A rule is a function from a [`FileContext`] to [`Hit`]s, plus the text shown with every
//! finding: a one-line summary, why it matters, and how to fix it. The rule ids are part of the
//! interface (suppressions, `loadguard.toml`, `--rules`, SARIF): never rename one.

use proc_macro2::Span;

use crate::context::FileContext;
use crate::finding::Severity;

pub mod clobbered_os_error;
pub mod double_lifecycle;
pub mod duplicate_symbol;
pub mod lock_in_drop;
pub mod map_linear_scan;
pub mod os_error_dropped;
pub mod static_resource;
pub mod unchecked_size_cast;
pub mod uninit_status;
pub mod unowned_handle;

/// A rule of the analyzer.
pub struct Rule {
    /// Its id, as written in suppressions and configuration.
    pub id: &'static str,
    /// One line: what it finds.
    pub summary: &'static str,
    /// Why the pattern is a bug in a loader.
    pub why: &'static str,
    /// How to fix it.
    pub fix: &'static str,
    /// Its severity unless `loadguard.toml` says otherwise.
    pub default_severity: Severity,
    /// The check itself.
    pub check: fn(&FileContext<'_>) -> Vec<Hit>,
}

/// A place a rule flags, before suppressions and configuration are applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    /// 1-based line and 0-based character column where the span starts.
    pub start: (usize, usize),
    /// 1-based line and 0-based character column one past where the span ends.
    pub end: (usize, usize),
    /// The message, naming the variables and calls involved.
    pub message: String,
}

impl Hit {
    /// A hit covering one span.
    #[must_use]
    pub fn at(span: Span, message: impl Into<String>) -> Hit {
        Hit::between(span, span, message)
    }

    /// A hit from the start of `first` to the end of `last`.
    #[must_use]
    pub fn between(first: Span, last: Span, message: impl Into<String>) -> Hit {
        let (s, e) = (first.start(), last.end());
        let start = (s.line.max(1), s.column);
        let mut end = (e.line.max(1), e.column);
        if end < start {
            end = start;
        }
        Hit {
            start,
            end,
            message: message.into(),
        }
    }
}

/// The pseudo-rule id of a file that could not be parsed (and so was not analyzed).
pub const PARSE_ERROR: &str = "parse_error";

/// The pseudo-rule id of an analyzer bug caught while analyzing a file.
pub const INTERNAL_ERROR: &str = "internal_error";

/// Every rule, in the order they are documented and listed in SARIF.
pub static RULES: &[Rule] = &[
    unowned_handle::RULE,
    map_linear_scan::RULE,
    unchecked_size_cast::RULE,
    lock_in_drop::RULE,
    uninit_status::RULE,
    clobbered_os_error::RULE,
    os_error_dropped::RULE,
    duplicate_symbol::RULE,
    double_lifecycle::RULE,
    static_resource::RULE,
];

/// The rule with this id.
#[must_use]
pub fn by_id(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}
