//! `clobbered_os_error`: the OS error read after another call that may have overwritten it.
//!
//! Shapes: a read of the thread's OS error (`io::Error::last_os_error()`, `GetLastError()`,
//! `errno()`, C's `errno`, `strerror(errno)`, `WSAGetLastError()`, or a helper of the crate
//! whose body reads one) whose nearest preceding call on every path to it (syntactic
//! dominance) is a cleanup call (`close`, `CloseHandle`, `munmap`, `free`, …) or a print / log
//! (`tracing::warn!`, `eprintln!`, `fprintf`, `LOG(..)`), with an OS call before that. When the
//! nearest call is the OS call itself (in a `let`, or in the condition around the read) the
//! read is right: nothing ran in between. So it is when the nearest call is one of the code
//! base's own functions that runs before the `if` branch holding the read (in its condition, or
//! earlier): a wrapper that failed and set the OS error itself (`p = sdsnew(..); if (!p)
//! perror(..)`). The nearest call whose failure is tested right there — by the `if` around
//! the read, or by an assertion macro streaming the message that holds the read
//! (`CHECK(close(fd) == 0) << strerror(errno)`) — is the one whose error is read, cleanup call
//! or not. A read of C's `errno` (`errno`, `perror`) is not overwritten by a Win32 call
//! (`CloseHandle`), nor does it hold a Win32 call's error: Windows keeps those apart. A call
//! named after the OS error that converts a code it is handed (`ma_result_from_errno(-rc)`,
//! `from_raw_os_error(code)`) is no read.

use crate::finding::Severity;
use crate::ir::{Kind, Lang};
use crate::known;
use crate::rules::{Cx, Example, Hit, Rule, is_os_call, reads_os_error};

/// The rule.
pub const RULE: Rule = Rule {
    id: "clobbered_os_error",
    summary: "the OS error is read after another call that may have overwritten it",
    why: "`errno` and `GetLastError()` are per-thread and overwritten by the next call that fails \
          (or, on Windows, often by one that succeeds): cleanup or logging between the failing call \
          and the read reports the wrong error, or none",
    fix: "capture the error first (`let err = io::Error::last_os_error();`), then clean up and \
          log, then return `err`",
    default_severity: Severity::Error,
    examples: &[
        Example {
            lang: "rust",
            flagged: "if ptr == libc::MAP_FAILED {\n    unsafe { libc::close(fd) };\n    return Err(io::Error::last_os_error()); // the error of `close`, if any\n}",
            fixed: "if ptr == libc::MAP_FAILED {\n    let err = io::Error::last_os_error();\n    unsafe { libc::close(fd) };\n    return Err(err);\n}",
        },
        Example {
            lang: "cpp",
            flagged: "if (p == MAP_FAILED) {\n    close(fd);\n    fprintf(stderr, \"mmap: %s\\n\", strerror(errno));\n}",
            fixed: "if (p == MAP_FAILED) {\n    int err = errno;\n    close(fd);\n    fprintf(stderr, \"mmap: %s\\n\", strerror(err));\n}",
        },
    ],
    check,
};

fn check(cx: &Cx<'_, '_>, hits: &mut Vec<Hit>) {
    let unit = cx.unit;
    for f in &unit.functions {
        for r in unit.descendants(f.body) {
            let n = unit.node(r);
            if n.kind == Kind::Path && unit.lang == Lang::Rust {
                continue;
            }
            if !reads_os_error(cx, r) {
                continue;
            }
            let parent = unit.parent(r);
            // `errno = 0;` writes; `strerror(errno)`: one read, reported once.
            if n.kind == Kind::Path
                && (unit.node(parent).kind == Kind::Assign && unit.child(parent, 0) == Some(r)
                    || reads_os_error(cx, parent))
            {
                continue;
            }
            // The nearest `if` around the read: a wrapper whose failure it tests may have set
            // the OS error itself.
            let around = unit.ancestors(r).find(|&a| unit.node(a).kind == Kind::If);
            let errno_only = errno_only(unit, r);
            // The calls that run before the read on every path, nearest first.
            let mut clobber: Option<u32> = None;
            let mut k = r;
            while k > f.body + 1 {
                k -= 1;
                let kn = unit.node(k);
                if !matches!(kn.kind, Kind::Call | Kind::Method | Kind::Macro)
                    || unit.contains(k, r)
                {
                    continue;
                }
                if !unit.dominates(k, r) {
                    continue;
                }
                let name = unit.name(k);
                // `errno` is not where a Win32 call leaves its error, nor what it overwrites.
                if errno_only && known::is_win32_call(name) {
                    continue;
                }
                let cleanup = kn.kind == Kind::Call && known::is_release(name);
                let log = kn.kind != Kind::Method && known::is_print_or_log(name);
                // The nearest call is tested for failure right there (`if (close(fd) != 0)
                // throw ..(strerror(errno))`, `if (gguf_append(..) == 0) perror(..)`,
                // `p = sdsnew(..); if (!p) perror(..)`, `CHECK(close(fd) == 0) << ..`): the
                // error read is its own, a cleanup call's or a wrapper's that set it itself.
                let tested = kn.kind == Kind::Call
                    && !log
                    && (around.is_some_and(|i| tests_failure_of(unit, i, k, r))
                        || asserted_with_message(unit, k, r));
                match clobber {
                    None if tested => break,
                    None if cleanup || log => clobber = Some(k),
                    None if is_os_call(unit, k) => break,
                    Some(c) if is_os_call(unit, k) && !known::is_release(name) => {
                        let clobberer = if unit.node(c).kind == Kind::Macro {
                            format!("{}!", unit.name(c))
                        } else {
                            unit.name(c).to_owned()
                        };
                        hits.push(
                            Hit::name_of(unit, r, format!(
                                "the OS error is read here after `{clobberer}` (line {{line}}), which may have overwritten the error of `{name}`"
                            ))
                            .related(unit.node(c).start),
                        );
                        break;
                    }
                    _ => {}
                }
                if reads_os_error(cx, k) {
                    break;
                }
            }
        }
    }
}

/// Whether the read `r` reads only C's `errno`: the `errno` identifier or `perror`, not a
/// helper or Rust's `last_os_error`, which read `GetLastError` on Windows.
fn errno_only(unit: &crate::ir::Unit<'_>, r: u32) -> bool {
    unit.lang == Lang::Cpp && known::reads_errno_only(unit.name(r))
}

/// Whether call `k` sits in the arguments of an assertion macro (a call whose name holds
/// `CHECK` or `ASSERT`: `CHECK_EQ`, `CHATGLM_CHECK`, `GGML_ASSERT`) whose streamed message holds the read `r`
/// (`CHECK(close(fd) == 0) << strerror(errno)`): the message is built only when `k` failed.
fn asserted_with_message(unit: &crate::ir::Unit<'_>, k: u32, r: u32) -> bool {
    let Some(check) = unit.ancestors(k).find(|&a| {
        unit.node(a).kind == Kind::Call && {
            let name = unit.name(a);
            name.contains("CHECK") || name.contains("ASSERT")
        }
    }) else {
        return false;
    };
    if unit.contains(check, r) {
        return false;
    }
    // The first node around the assertion that also holds the read is the `<<` chain.
    unit.ancestors(check)
        .find(|&a| unit.contains(a, r))
        .is_some_and(|a| unit.node(a).kind == Kind::Binary)
}

/// Whether the `if` node `i`, whose branch holds the read `r`, tests the failure of call `k`:
/// `k` is its whole condition, negated (`!f(..)`), or compared with a literal or a constant
/// (`f(..) == 0`, `f(..) == NULL`), or `k` runs before the `if` as the value of a binding or
/// assignment (`p = f(..); if (!p)`). A call compared with another value (`n !=
/// s.size()`) is not a failure test, nor a call inside the branch before the read.
fn tests_failure_of(unit: &crate::ir::Unit<'_>, i: u32, k: u32, r: u32) -> bool {
    use crate::ir::Op;
    let Some(cond) = unit.child(i, 0) else {
        return false;
    };
    if unit.contains(cond, r) {
        return false;
    }
    if k == cond {
        return true;
    }
    let parent = unit.parent(k);
    let pn = unit.node(parent);
    if unit.contains(cond, k) {
        let constant = |o: u32| {
            let n = unit.node(o);
            n.kind == Kind::Lit
                || n.kind == Kind::Path
                    && unit
                        .name(o)
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
                || n.kind == Kind::Path && unit.name(o) == "nullptr"
        };
        return match (pn.kind, pn.op) {
            (Kind::Unary, Op::Not) => true,
            (Kind::Binary, Op::Eq | Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge) => unit
                .children(parent)
                .find(|&o| o != k)
                .is_some_and(constant),
            _ => false,
        };
    }
    // Before the `if`: the value of a binding or assignment.
    k < i
        && match pn.kind {
            Kind::Let => true,
            Kind::Assign => unit.child(parent, 1) == Some(k),
            _ => false,
        }
}
