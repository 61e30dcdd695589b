//! `unowned_handle`: a raw OS handle that can leave the function early before anything owns it.
//!
//! Shapes (Rust and C/C++ alike): a local bound to an acquire call (`open`, `openat`,
//! `memfd_create`, `socket`, `dup`, `mmap`, `dlopen`, `CreateFile*`, `CreateFileMapping*`,
//! `MapViewOfFile*`, `LoadLibrary*`, `fopen`, …), then its failure check (an `if` on the
//! variable whose branch always leaves), then an early exit — `?`, `return`, an early-exit
//! macro, `throw` — that no ownership step runs before on every path to it. Ownership steps:
//! a release call on it (`close`, `CloseHandle`, `munmap`, …), a constructor taking it
//! (`OwnedFd::from_raw_fd(fd)`, `Fd(fd)`, `File { fd }`, `std::unique_ptr<..> p(h, ..)`,
//! `wil::unique_handle h(x)`), `.reset(h)`, a scope guard whose closure releases it, or a store
//! into a field (`self.fd = fd`, `this->fd_ = fd`). "On every path" is syntactic dominance: the
//! step's statement list contains the exit. A failure check whose branch returns the handle
//! (`if fd >= 0 { return Ok(fd) }`) hands it out: what follows is the failure path.

use crate::finding::Severity;
use crate::ir::{Kind, Unit};
use crate::known;
use crate::rules::{Cx, Example, Hit, Rule, bound_call, is_os_call};

/// The rule.
pub const RULE: Rule = Rule {
    id: "unowned_handle",
    summary: "a raw OS handle can reach an early return before it is owned or released",
    why: "a raw fd / HANDLE / mapping / library handle is an integer or pointer: nothing closes \
          it when the function returns early, so every failure after the acquire leaks one",
    fix: "wrap the handle in an owning type (`OwnedFd::from_raw_fd`, `OwnedHandle::from_raw_handle`, \
          a type with `Drop`, `std::unique_ptr` with a deleter, `wil::unique_*`) right after its failure check, before anything else can fail",
    default_severity: Severity::Error,
    examples: &[
        Example {
            lang: "rust",
            flagged: "let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY) };\nif fd < 0 {\n    return Err(io::Error::last_os_error());\n}\nlet len = file_len(fd)?; // leaks `fd` when this fails\nOk(unsafe { OwnedFd::from_raw_fd(fd) })",
            fixed: "let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY) };\nif fd < 0 {\n    return Err(io::Error::last_os_error());\n}\n// SAFETY: `open` succeeded, so `fd` is an open descriptor nothing else owns.\nlet fd = unsafe { OwnedFd::from_raw_fd(fd) };\nlet len = file_len(fd.as_raw_fd())?;\nOk(fd)",
        },
        Example {
            lang: "cpp",
            flagged: "HANDLE file = CreateFileW(path, GENERIC_READ, 0, nullptr, OPEN_EXISTING, 0, nullptr);\nif (file == INVALID_HANDLE_VALUE) return false;\nHANDLE map = CreateFileMappingW(file, nullptr, PAGE_READONLY, 0, 0, nullptr);\nif (!map) return false; // leaks `file`",
            fixed: "wil::unique_hfile file(CreateFileW(path, GENERIC_READ, 0, nullptr, OPEN_EXISTING, 0, nullptr));\nif (!file) return false;\nwil::unique_handle map(CreateFileMappingW(file.get(), nullptr, PAGE_READONLY, 0, 0, nullptr));\nif (!map) return false; // `file` closes itself",
        },
    ],
    check,
};

fn check(cx: &Cx<'_, '_>, hits: &mut Vec<Hit>) {
    let unit = cx.unit;
    for f in &unit.functions {
        for i in unit.descendants(f.body) {
            let Some((var, call)) = bound_call(unit, i) else {
                continue;
            };
            if !is_os_call(unit, call) {
                continue;
            }
            let Some((what, _)) = known::acquire(unit.name(call)) else {
                continue;
            };
            // `g_handle = dlopen(..)` stores into a global (or member): not a local to leak.
            let local = unit.node(i).kind == Kind::Let
                || f.params.iter().any(|(p, _)| p == var)
                || unit
                    .descendants(f.body)
                    .any(|d| unit.node(d).kind == Kind::Let && unit.name(d) == var);
            if !local {
                continue;
            }
            if let Some(hit) = leak(unit, f.body, i, var, what, unit.name(call)) {
                hits.push(hit.related(unit.node(call).start));
            }
        }
    }
}

/// The first early exit after `bind`'s failure check that leaks `var`, if any.
fn leak(unit: &Unit<'_>, body: u32, bind: u32, var: &str, what: &str, call: &str) -> Option<Hit> {
    let after = unit.node(bind).last;
    // The variable's scope: exits after its block are not its exits (a handle opened and
    // closed inside a loop body is done with when the loop ends).
    let end = unit
        .enclosing_block(bind)
        .map_or(unit.node(body).last, |b| unit.node(b).last);
    // The failure check: the first `if` on the variable after the binding.
    let check = (after..end).find(|&j| {
        let n = unit.node(j);
        n.kind == Kind::If && unit.child(j, 0).is_some_and(|c| unit.mentions(c, var))
    })?;
    let then = unit.child(check, 1)?;
    if !unit.always_exits(then) {
        return None;
    }
    // `if (fp) { ..; fclose(fp); return n; }`: the branch that uses and releases the handle is
    // the success path, and what follows is the failure path.
    let releases = unit.subtree(then).any(|k| {
        unit.node(k).kind == Kind::Call && known::is_release(unit.name(k)) && unit.mentions(k, var)
    });
    if releases
        || unit
            .exits(then)
            .any(|e| unit.node(e).kind == Kind::Return && unit.mentions(e, var))
    {
        // `if fd >= 0 { return Ok(fd) }`: handed out; what follows is the failure path.
        return None;
    }
    let mut owners: Vec<u32> = Vec::new();
    let mut j = unit.node(check).last;
    while j < end {
        let n = *unit.node(j);
        if n.kind == Kind::Closure {
            j = n.last;
            continue;
        }
        if takes_ownership(unit, j, var) {
            owners.push(j);
        }
        let is_exit = matches!(n.kind, Kind::Return | Kind::Try | Kind::Exit);
        if is_exit {
            let hands_out = n.kind == Kind::Return && unit.mentions(j, var);
            let owned = owners
                .iter()
                .any(|&o| unit.dominates(o, j) || unit.contains(o, j));
            if !hands_out && !owned {
                let (start, stop) = match n.kind {
                    Kind::Try => (n.end.saturating_sub(1), n.end),
                    Kind::Return => (n.start, n.start + 6),
                    _ => (n.start, n.end),
                };
                let how = match n.kind {
                    Kind::Try => "this `?`",
                    Kind::Return => "this `return`",
                    _ => "this early exit",
                };
                return Some(Hit::span(
                    start,
                    stop.min(n.end.max(start)),
                    format!(
                        "`{var}` holds a {what} from `{call}` (line {{line}}) that is neither owned nor released when {how} leaves the function"
                    ),
                ));
            }
        }
        j += 1;
    }
    None
}

/// Whether node `j` takes ownership of (or releases) `var`.
fn takes_ownership(unit: &Unit<'_>, j: u32, var: &str) -> bool {
    let n = unit.node(j);
    let args_mention = |skip_first: bool| {
        unit.children(j)
            .skip(usize::from(skip_first))
            .any(|c| unit.mentions(c, var))
    };
    match n.kind {
        Kind::Call => {
            let name = unit.name(j);
            (known::is_release(name) || known::is_owner_call(name)) && args_mention(false)
        }
        Kind::Method => {
            let name = unit.name(j);
            (known::is_release(name) || name == "reset" || name.starts_with("from_raw"))
                && args_mention(true)
        }
        Kind::Construct => args_mention(false),
        Kind::Assign => {
            let (Some(target), Some(value)) = (unit.child(j, 0), unit.child(j, 1)) else {
                return false;
            };
            let t = unit.node(target);
            // `self.fd = fd`, `table[i] = h`, `*out = h` (handed out through a pointer).
            let into_field = t.kind == Kind::Field
                || t.kind == Kind::Index
                || t.kind == Kind::Unary && t.op == crate::ir::Op::Deref
                || (t.kind == Kind::Path
                    && unit.lang == crate::ir::Lang::Cpp
                    && unit.name(target) != var
                    && unit.name(target).ends_with('_'));
            into_field && unit.var_of(value) == Some(var)
        }
        Kind::Let => {
            // A scope guard: `auto g = scope_exit([&] { close(fd); })`.
            unit.child(j, 0).is_some_and(|init| {
                unit.subtree(init).any(|k| {
                    let kn = unit.node(k);
                    kn.kind == Kind::Call
                        && known::is_release(unit.name(k))
                        && unit.mentions(k, var)
                })
            })
        }
        _ => false,
    }
}
