//! `lock_in_drop`: a destructor that locks a mutex its own object owns directly.
//!
//! Shapes: in `Drop::drop`, `self.f.lock()` / `.read()` / `.write()` / `try_lock()` where `f`
//! is declared (in any file of the crate) as a `Mutex` / `RwLock` — not an `Arc<Mutex<..>>`,
//! which other owners share; in a C++ destructor `~T()`, a `std::lock_guard` /
//! `std::unique_lock` / `std::scoped_lock` / `std::shared_lock` on a member declared
//! `std::mutex` / `std::shared_mutex` / …, `m_.lock()`, or `EnterCriticalSection(&cs_)` /
//! `pthread_mutex_lock(&mu_)`, with the member's type taken from the class declaration
//! (headers included).

use crate::finding::Severity;
use crate::ir::{FnKind, Function, Kind, Unit};
use crate::known;
use crate::rules::{Cx, Example, Hit, Rule};

/// The rule.
pub const RULE: Rule = Rule {
    id: "lock_in_drop",
    summary: "a destructor (`Drop::drop`, `~T()`) locks a mutex or rwlock that the object owns",
    why: "`drop(&mut self)` already has exclusive access: the lock is dead weight, it panics or \
          skips cleanup when the lock is poisoned, and it deadlocks if the value is dropped while \
          the same lock is held (a guard living in the same scope)",
    fix: "use `self.field.get_mut()` (and handle poisoning with `unwrap_or_else(PoisonError::into_inner)`), \
          which needs no locking; in a C++ destructor use the member without a lock",
    default_severity: Severity::Warning,
    examples: &[
        Example {
            lang: "rust",
            flagged: "impl Drop for Session {\n    fn drop(&mut self) {\n        self.state.lock().unwrap().release();\n    }\n}",
            fixed: "impl Drop for Session {\n    fn drop(&mut self) {\n        self.state.get_mut().unwrap_or_else(PoisonError::into_inner).release();\n    }\n}",
        },
        Example {
            lang: "cpp",
            flagged: "Session::~Session() {\n    std::lock_guard<std::mutex> lock(mutex_);\n    release(handle_);\n}",
            fixed: "Session::~Session() {\n    release(handle_);  // no other thread can hold `this` here\n}",
        },
    ],
    check,
};

fn check(cx: &Cx<'_, '_>, hits: &mut Vec<Hit>) {
    let unit = cx.unit;
    for f in unit.functions.iter().filter(|f| f.kind == FnKind::Dtor) {
        let Some(owner) = f.owner.as_deref() else {
            continue;
        };
        for i in unit.descendants(f.body) {
            let n = unit.node(i);
            match n.kind {
                Kind::Method
                    if matches!(
                        unit.name(i),
                        "lock"
                            | "read"
                            | "write"
                            | "try_lock"
                            | "try_read"
                            | "try_write"
                            | "lock_shared"
                    ) =>
                {
                    if let Some(field) = unit.child(i, 0).and_then(|r| own_lock(cx, f, owner, r)) {
                        hits.push(Hit::at(unit, i, message(unit, owner, field, i)));
                    }
                }
                Kind::Let => {
                    let ty = unit.ty(n.ty).map(|t| t.name.as_str()).unwrap_or("");
                    if !matches!(
                        ty,
                        "lock_guard" | "unique_lock" | "scoped_lock" | "shared_lock"
                    ) {
                        continue;
                    }
                    let Some(init) = unit.child(i, 0) else {
                        continue;
                    };
                    let field = unit.children(init).find_map(|a| own_lock(cx, f, owner, a));
                    if let Some(field) = field {
                        hits.push(Hit::at(unit, i, message(unit, owner, field, i)));
                    }
                }
                Kind::Call
                    if matches!(
                        unit.name(i),
                        "EnterCriticalSection"
                            | "pthread_mutex_lock"
                            | "AcquireSRWLockExclusive"
                            | "AcquireSRWLockShared"
                    ) =>
                {
                    let field = unit.children(i).find_map(|a| own_lock(cx, f, owner, a));
                    if let Some(field) = field {
                        hits.push(Hit::at(unit, i, message(unit, owner, field, i)));
                    }
                }
                _ => {}
            }
        }
    }
}

/// If `e` is a lock member of `owner` (`self.f`, `this->f`, `f` in C++, `&f`), its name.
fn own_lock<'t>(cx: &Cx<'_, 't>, f: &Function, owner: &str, e: u32) -> Option<&'t str> {
    let unit: &Unit<'t> = cx.unit;
    let mut e = unit.peel(e);
    if unit.node(e).kind == Kind::Unary {
        e = unit.child(e, 0)?;
    }
    let n = unit.node(e);
    let field = match n.kind {
        Kind::Field => {
            let base = unit.child(e, 0)?;
            if !matches!(unit.var_of(base), Some("self" | "this")) {
                return None;
            }
            unit.name(e)
        }
        Kind::Path if unit.lang == crate::ir::Lang::Cpp && n.qual.len == 0 => {
            let name = unit.name(e);
            if f.params.iter().any(|(p, _)| p == name) {
                return None;
            }
            name
        }
        _ => return None,
    };
    let ty = cx.summary.field(owner, field)?;
    (known::is_lock(&ty.name) && !ty.pointer && !ty.reference).then_some(field)
}

fn message(unit: &Unit<'_>, owner: &str, field: &str, at: u32) -> String {
    if unit.lang == crate::ir::Lang::Rust {
        format!(
            "`drop` calls `{}` on a lock that `self` owns",
            unit.src(at).split_whitespace().collect::<String>()
        )
    } else {
        format!("the destructor of `{owner}` locks `{field}`, a mutex the object owns")
    }
}
