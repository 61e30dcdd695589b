//! The rules: one module per rule id, and the registry that lists them.
//!
//! A rule is a function from one lowered file ([`Cx`]: its [`Unit`] and the [`Summary`] of its
//! crate or directory) to [`Hit`]s, plus the text shown with every finding: a one-line summary,
//! why it matters, how to fix it, and an example of what it flags and what to write instead
//! (`loadguard lint --explain RULE`). Each rule is written once against the IR and runs on Rust
//! and C/C++ alike. The rule ids are part of the interface (suppressions, `loadguard.toml`,
//! `--rules`, SARIF): never rename one.

use crate::finding::Severity;
use crate::ir::{Kind, Unit};
use crate::summary::Summary;

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
pub mod wrong_failure_sentinel;

/// What a rule flags and what to write instead, in one language.
#[derive(Clone, Copy, Debug)]
pub struct Example {
    /// `"rust"` or `"cpp"`.
    pub lang: &'static str,
    /// Code the rule flags.
    pub flagged: &'static str,
    /// The same code, fixed.
    pub fixed: &'static str,
}

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
    /// What it flags and the fix, per language.
    pub examples: &'static [Example],
    /// The check itself.
    pub check: fn(&Cx<'_, '_>, &mut Vec<Hit>),
}

/// What a rule sees: one file's IR and its group's summary.
pub struct Cx<'u, 't> {
    /// The file.
    pub unit: &'u Unit<'t>,
    /// Facts from every file of the crate or directory.
    pub summary: &'u Summary,
    /// The run's configuration (the code base's own macros).
    pub config: &'u crate::config::Config,
}

/// A place a rule flags, before suppressions and configuration are applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    /// First byte of the flagged text.
    pub start: u32,
    /// One past its last byte.
    pub end: u32,
    /// The message, naming the variables and calls involved; `{line}` in it is replaced by
    /// the line of [`Hit::related`].
    pub message: String,
    /// A second place the message refers to (the acquire, the first call), as a byte offset.
    pub related: Option<u32>,
}

impl Hit {
    /// A hit covering node `id`.
    #[must_use]
    pub fn at(unit: &Unit<'_>, id: u32, message: impl Into<String>) -> Hit {
        let n = unit.node(id);
        Hit {
            start: n.start,
            end: n.end.max(n.start),
            message: message.into(),
            related: None,
        }
    }

    /// A hit covering a byte range.
    #[must_use]
    pub fn span(start: u32, end: u32, message: impl Into<String>) -> Hit {
        Hit {
            start,
            end: end.max(start),
            message: message.into(),
            related: None,
        }
    }

    /// The same hit, with `{line}` in its message naming the line of byte `offset`.
    #[must_use]
    pub fn related(mut self, offset: u32) -> Hit {
        self.related = Some(offset);
        self
    }

    /// A hit covering the name of node `id` (a call's or method's name).
    #[must_use]
    pub fn name_of(unit: &Unit<'_>, id: u32, message: impl Into<String>) -> Hit {
        let n = unit.node(id);
        if n.name.len == 0 {
            return Hit::at(unit, id, message);
        }
        Hit::span(n.name.start, n.name.start + n.name.len, message)
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
    wrong_failure_sentinel::RULE,
];

/// The rule with this id.
#[must_use]
pub fn by_id(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// The call or method call bound by a `let` / declaration or an assignment to a plain
/// variable: `(variable, call node)`. The call is looked for through `unsafe { }`, parentheses
/// and pointer casts.
#[must_use]
pub fn bound_call<'t>(unit: &Unit<'t>, id: u32) -> Option<(&'t str, u32)> {
    let n = unit.node(id);
    let (var, value) = match n.kind {
        Kind::Let if n.name.len > 0 => (unit.name(id), unit.child(id, 0)?),
        Kind::Assign if n.flags & crate::ir::COMPOUND == 0 => {
            let target = unit.child(id, 0)?;
            let t = unit.node(target);
            if t.kind != Kind::Path || t.qual.len > 0 {
                return None;
            }
            (unit.name(target), unit.child(id, 1)?)
        }
        _ => return None,
    };
    let value = unit.peel(value);
    matches!(unit.node(value).kind, Kind::Call | Kind::Method).then_some((var, value))
}

/// Whether node `id` is a call (or method call) named `name`.
#[must_use]
pub fn is_call_named(unit: &Unit<'_>, id: u32, name: &str) -> bool {
    matches!(unit.node(id).kind, Kind::Call | Kind::Method) && unit.name(id) == name
}

/// Whether a call node is an OS call: a known libc / POSIX / Win32 function, called as a free
/// function (`open(..)`, `libc::open(..)`, `windows_sys::…::CreateFileW(..)`), never a method.
#[must_use]
pub fn is_os_call(unit: &Unit<'_>, id: u32) -> bool {
    let n = unit.node(id);
    n.kind == Kind::Call && {
        let qual = unit.qual(id);
        let name = unit.name(id);
        // `File::open`, `Self::open`, `Mmap::map`: associated functions of a type, not the OS.
        let type_qual = qual.chars().next().is_some_and(char::is_uppercase)
            && !crate::known::is_win32_module(qual);
        !type_qual && crate::known::is_os_call(name, qual)
    }
}

/// Whether node `id` reads the OS error: a call of an error reader, a helper of the group
/// known to read it, or (C/C++) the `errno` identifier.
#[must_use]
pub fn reads_os_error(cx: &Cx<'_, '_>, id: u32) -> bool {
    let unit = cx.unit;
    let n = unit.node(id);
    match n.kind {
        Kind::Call | Kind::Method | Kind::Macro => {
            let name = unit.name(id);
            // A conversion named after the OS error that is handed a code converts that code
            // (`ma_result_from_errno(-rc)`, `from_raw_os_error(code)`); when the code is the
            // OS error (`from_errno(errno)`), the argument is the read.
            let has_args = unit
                .children(id)
                .nth(usize::from(n.kind == Kind::Method))
                .is_some();
            let converts = n.kind != Kind::Macro
                && has_args
                && !crate::known::reads_os_error_exactly(name)
                && name.to_ascii_lowercase().contains("from");
            // A helper of the group counts, unless it shadows an OS call's name (a Windows
            // `munmap` shim that reads `GetLastError` is still `munmap` on Linux).
            !converts
                && (crate::known::reads_os_error(name)
                    || cx.summary.os_error_helpers.contains(name)
                        && !crate::known::is_os_call(name, ""))
        }
        Kind::Path => {
            unit.lang == crate::ir::Lang::Cpp && crate::known::is_errno_ident(unit.name(id))
        }
        _ => false,
    }
}
