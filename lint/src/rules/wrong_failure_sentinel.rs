//! `wrong_failure_sentinel`: an acquire call's result tested against the wrong failure value.
//!
//! Shapes (Rust and C/C++): `CreateFileMapping*`, `OpenFileMapping*`, `MapViewOfFile*` and
//! `LoadLibrary*` return NULL on failure, but are compared with `INVALID_HANDLE_VALUE`;
//! `CreateFile*` returns `INVALID_HANDLE_VALUE`, but is compared with NULL / `nullptr` / `0`,
//! tested with `!h` or `.is_null()`; `mmap` returns `MAP_FAILED`, but is compared with NULL /
//! `0`, `!p` or `.is_null()`; `open`, `openat`, `memfd_create`, `shm_open`, `socket`, `dup`
//! return -1, but are tested with `== 0`, `!= 0` or `!fd` (0 is a valid descriptor). The
//! result is followed from the call through a `let` / declaration / assignment to every
//! comparison of that variable in the function.

use crate::finding::Severity;
use crate::ir::{Kind, Op, Unit};
use crate::known::{self, Sentinel};
use crate::rules::{Cx, Example, Hit, Rule, bound_call, is_os_call};

/// The rule.
pub const RULE: Rule = Rule {
    id: "wrong_failure_sentinel",
    summary: "an acquire call's result is tested against the wrong failure value",
    why: "the check never sees the failure: a NULL mapping handle compared with \
          INVALID_HANDLE_VALUE, or an `mmap` result compared with NULL, passes as success and \
          the next use of it crashes or maps nothing; `fd == 0` treats a valid descriptor as an \
          error and `-1` as success",
    fix: "test each call against what it returns on failure: NULL for CreateFileMapping / \
          MapViewOfFile / LoadLibrary, INVALID_HANDLE_VALUE for CreateFile, MAP_FAILED for mmap, \
          a negative value for open / socket / memfd_create",
    default_severity: Severity::Error,
    examples: &[
        Example {
            lang: "rust",
            flagged: "let mapping = unsafe { CreateFileMappingW(file, null(), PAGE_READONLY, 0, 0, null()) };\nif mapping == INVALID_HANDLE_VALUE {\n    return Err(io::Error::last_os_error());\n}",
            fixed: "let mapping = unsafe { CreateFileMappingW(file, null(), PAGE_READONLY, 0, 0, null()) };\nif mapping.is_null() {\n    return Err(io::Error::last_os_error());\n}",
        },
        Example {
            lang: "cpp",
            flagged: "void* p = mmap(nullptr, len, PROT_READ, MAP_PRIVATE, fd, 0);\nif (p == NULL) return false;",
            fixed: "void* p = mmap(nullptr, len, PROT_READ, MAP_PRIVATE, fd, 0);\nif (p == MAP_FAILED) return false;",
        },
    ],
    check,
};

fn check(cx: &Cx<'_, '_>, hits: &mut Vec<Hit>) {
    let unit = cx.unit;
    for f in &unit.functions {
        for i in unit.descendants(f.body) {
            let n = unit.node(i);
            // A comparison right on the call: `if (mmap(..) == NULL)`.
            if matches!(n.kind, Kind::Call) && is_os_call(unit, i) {
                if let Some((what, sentinel)) = known::acquire(unit.name(i)) {
                    let _ = what;
                    let mut up = unit.parent(i);
                    // Up through wrappers, never past a body's root (its own parent).
                    for _ in 0..16 {
                        let wrapper =
                            matches!(unit.node(up).kind, Kind::Other | Kind::Block | Kind::Cast)
                                && unit.children(up).count() == 1;
                        let p = unit.parent(up);
                        if !wrapper || p == up {
                            break;
                        }
                        up = p;
                    }
                    if let Some(hit) = wrong_test(unit, up, None, unit.name(i), sentinel) {
                        hits.push(hit);
                    }
                }
            }
            let Some((var, call)) = bound_call(unit, i) else {
                continue;
            };
            if !is_os_call(unit, call) {
                continue;
            }
            let Some((_, sentinel)) = known::acquire(unit.name(call)) else {
                continue;
            };
            let callee = unit.name(call);
            let end = unit.node(f.body).last;
            let mut j = unit.node(i).last;
            while j < end {
                // Until the variable is bound again.
                if j != i && bound_call(unit, j).is_some_and(|(v, _)| v == var) {
                    break;
                }
                if let Some(hit) = wrong_test(unit, j, Some(var), callee, sentinel) {
                    hits.push(hit);
                }
                j += 1;
            }
        }
    }
}

/// Whether node `j` tests `var` (or, with `None`, its only operand) against the wrong value.
fn wrong_test(
    unit: &Unit<'_>,
    j: u32,
    var: Option<&str>,
    callee: &str,
    sentinel: Sentinel,
) -> Option<Hit> {
    let n = unit.node(j);
    let is_subject = |x: u32| match var {
        Some(v) => strip(unit, x).is_some_and(|s| unit.is_var(s, v)),
        None => matches!(unit.node(unit.peel(x)).kind, Kind::Call),
    };
    let against = match n.kind {
        Kind::Binary if matches!(n.op, Op::Eq | Op::Ne) => {
            let (l, r) = (unit.child(j, 0)?, unit.child(j, 1)?);
            let other = if is_subject(l) {
                r
            } else if is_subject(r) {
                l
            } else {
                return None;
            };
            constant(unit, other)?
        }
        Kind::Unary if n.op == Op::Not && unit.lang == crate::ir::Lang::Cpp => {
            if !is_subject(unit.child(j, 0)?) {
                return None;
            }
            Value::Null
        }
        Kind::Method if unit.name(j) == "is_null" => {
            if !is_subject(unit.child(j, 0)?) {
                return None;
            }
            Value::Null
        }
        _ => return None,
    };
    let wrong = match (sentinel, against) {
        (Sentinel::Null, Value::InvalidHandle) => {
            Some("NULL on failure, never `INVALID_HANDLE_VALUE`")
        }
        (Sentinel::InvalidHandle, Value::Null) => {
            Some("`INVALID_HANDLE_VALUE` on failure, not NULL")
        }
        (Sentinel::MapFailed, Value::Null) => Some("`MAP_FAILED` on failure, not NULL"),
        (Sentinel::Negative, Value::Null) => Some("-1 on failure; 0 is a valid descriptor"),
        _ => None,
    }?;
    Some(Hit::at(
        unit,
        j,
        format!("`{callee}` returns {wrong}: this test never sees the failure"),
    ))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Value {
    Null,
    InvalidHandle,
}

fn strip(unit: &Unit<'_>, x: u32) -> Option<u32> {
    let mut x = x;
    for _ in 0..8 {
        x = unit.peel(x);
        let n = unit.node(x);
        match n.kind {
            Kind::Cast | Kind::Other if unit.children(x).count() == 1 => x = unit.child(x, 0)?,
            // `h.0` / `h.Value` (windows crate newtypes).
            Kind::Field if matches!(unit.name(x), "0" | "Value") => x = unit.child(x, 0)?,
            _ => return Some(x),
        }
    }
    Some(x)
}

fn constant(unit: &Unit<'_>, x: u32) -> Option<Value> {
    let x = strip(unit, x)?;
    let n = unit.node(x);
    let name = unit.name(x);
    match n.kind {
        Kind::Lit if name == "0" || name == "nullptr" || name == "NULL" => Some(Value::Null),
        Kind::Path if matches!(name, "NULL" | "nullptr" | "null" | "null_mut") => Some(Value::Null),
        Kind::Call if matches!(name, "null" | "null_mut") => Some(Value::Null),
        Kind::Path if name == "INVALID_HANDLE_VALUE" => Some(Value::InvalidHandle),
        _ => None,
    }
}
