//! `os_error_dropped`: a branch that detects a failed OS call and reports an error without the
//! OS error.
//!
//! Shapes: an `if` whose condition tests an OS call's result (the call itself, or a local bound
//! to it on every path before) — OS calls are known from the libc / POSIX and Win32 names, not
//! from their case — and whose branch returns `Err(..)` (or, in C++, throws) without reading
//! the OS error anywhere in the branch, without a value captured from it before, and without
//! returning the status itself (an HRESULT is the error). A `match` arm on a negative result
//! (`-1 => Err(..)`) likewise. A helper of the crate whose body reads the OS error
//! (`Error::last_os()`) counts as reading it. Symbol lookups (`dlsym`, `GetProcAddress`) are
//! not OS calls here: their error is the missing symbol's name.

use crate::finding::Severity;
use crate::ir::{Kind, Lang, Unit};
use crate::rules::{Cx, Example, Hit, Rule, bound_call, is_os_call, reads_os_error};

/// The rule.
pub const RULE: Rule = Rule {
    id: "os_error_dropped",
    summary: "a failed OS call is turned into an error that does not carry the OS error",
    why: "\"open failed\" without ENOENT / EACCES / ERROR_SHARING_VIOLATION cannot be diagnosed \
          from a report, and the OS error is gone by the time anyone asks",
    fix: "build the error from `io::Error::last_os_error()` (captured first thing in the branch) \
          and add the operation and path as context",
    default_severity: Severity::Warning,
    examples: &[
        Example {
            lang: "rust",
            flagged: "let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY) };\nif fd < 0 {\n    return Err(Error::OpenFailed);\n}",
            fixed: "let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY) };\nif fd < 0 {\n    return Err(Error::Open(io::Error::last_os_error()));\n}",
        },
        Example {
            lang: "cpp",
            flagged: "int fd = open(path, O_RDONLY);\nif (fd < 0) throw std::runtime_error(\"cannot open model\");",
            fixed: "int fd = open(path, O_RDONLY);\nif (fd < 0) throw std::system_error(errno, std::generic_category(), path);",
        },
    ],
    check,
};

/// The OS call's name: node `at` is the call itself or the `let` / assignment binding it.
fn call_name<'t>(unit: &Unit<'t>, at: u32) -> &'t str {
    match bound_call(unit, at) {
        Some((_, call)) => unit.name(call),
        None => unit.name(at),
    }
}

fn is_tested_os_call(unit: &Unit<'_>, id: u32) -> bool {
    is_os_call(unit, id) && crate::known::symbol_lookup(unit.name(id)).is_none()
}

fn check(cx: &Cx<'_, '_>, hits: &mut Vec<Hit>) {
    let unit = cx.unit;
    for f in &unit.functions {
        // Locals bound to an OS call's result, and locals captured from the OS error.
        let mut statuses: Vec<(&str, u32)> = Vec::new();
        let mut captured: Vec<(&str, u32)> = Vec::new();
        for i in unit.descendants(f.body) {
            let n = unit.node(i);
            if let Some((var, call)) = bound_call(unit, i) {
                if is_tested_os_call(unit, call) {
                    statuses.push((var, i));
                }
            }
            if n.kind == Kind::Let && n.name.len > 0 {
                if let Some(init) = unit.child(i, 0) {
                    if unit.subtree(init).any(|k| reads_os_error(cx, k)) {
                        captured.push((unit.name(i), i));
                    }
                }
            }
            match n.kind {
                Kind::If => {
                    let (Some(cond), Some(then)) = (unit.child(i, 0), unit.child(i, 1)) else {
                        continue;
                    };
                    let direct = unit.subtree(cond).find(|&k| is_tested_os_call(unit, k));
                    let status = statuses
                        .iter()
                        .rev()
                        .find(|(v, at)| unit.mentions(cond, v) && unit.dominates(*at, i))
                        .copied();
                    let Some(call) = direct.or(status.map(|(_, at)| at)) else {
                        continue;
                    };
                    let call = call_name(unit, call);
                    if let Some(hit) = dropped(cx, then, status.map(|(v, _)| v), &captured, i, call)
                    {
                        hits.push(hit);
                    }
                }
                Kind::Match => {
                    let Some(scrut) = unit.child(i, 0) else {
                        continue;
                    };
                    let direct = unit.subtree(scrut).find(|&k| is_tested_os_call(unit, k));
                    let status = statuses
                        .iter()
                        .rev()
                        .find(|(v, at)| unit.mentions(scrut, v) && unit.dominates(*at, i))
                        .copied();
                    let Some(call) = direct.or(status.map(|(_, at)| at)) else {
                        continue;
                    };
                    let call = call_name(unit, call);
                    let status = status.map(|(v, _)| v);
                    for arm in unit.children(i).skip(1) {
                        if !unit.name(arm).trim_start().starts_with('-') {
                            continue;
                        }
                        if let Some(body) = unit.children(arm).last() {
                            if let Some(hit) = dropped(cx, body, status, &captured, i, call) {
                                hits.push(hit);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

/// The error exit of a failure branch that carries no OS error, if there is one.
fn dropped(
    cx: &Cx<'_, '_>,
    branch: u32,
    status: Option<&str>,
    captured: &[(&str, u32)],
    at: u32,
    call: &str,
) -> Option<Hit> {
    let unit = cx.unit;
    let exit = error_exit(unit, branch)?;
    if unit.subtree(branch).any(|k| reads_os_error(cx, k)) {
        return None;
    }
    if status.is_some_and(|v| unit.mentions(exit, v)) {
        return None;
    }
    if captured
        .iter()
        .any(|(v, c)| *c < at && unit.mentions(branch, v))
    {
        return None;
    }
    let message = format!(
        "this branch handles a failed `{call}` but returns an error that does not carry the OS error"
    );
    Some(match unit.node(exit).kind {
        Kind::Exit => Hit::at(unit, exit, message),
        _ => Hit::name_of(unit, exit, message),
    })
}

/// The `Err(..)` the branch leaves with (`return Err(..)`, a tail `Err(..)`, `throw`).
fn error_exit(unit: &Unit<'_>, branch: u32) -> Option<u32> {
    let is_err = |x: u32| {
        let x = unit.peel(x);
        unit.node(x).kind == Kind::Call && unit.name(x) == "Err"
    };
    if is_err(branch) {
        return Some(unit.peel(branch));
    }
    for e in unit.exits(branch) {
        let n = unit.node(e);
        match n.kind {
            Kind::Return => {
                if let Some(v) = unit.child(e, 0) {
                    if is_err(v) {
                        return Some(unit.peel(v));
                    }
                }
            }
            Kind::Exit if unit.lang == Lang::Cpp && unit.src(e).starts_with("throw") => {
                return Some(e);
            }
            _ => {}
        }
    }
    if unit.lang == Lang::Rust {
        let last = unit.children(branch).last()?;
        if is_err(last) {
            return Some(unit.peel(last));
        }
    }
    None
}
