//! `clobbered_os_error`: the OS error read after another call that may have overwritten it.
//!
//! Shapes: a read of the thread's OS error (`io::Error::last_os_error()`, `GetLastError()`,
//! `errno()`, C's `errno`, `strerror(errno)`, `WSAGetLastError()`, or a helper of the crate
//! whose body reads one) whose nearest preceding call on every path to it (syntactic
//! dominance) is a cleanup call (`close`, `CloseHandle`, `munmap`, `free`, …) or a print / log
//! (`tracing::warn!`, `eprintln!`, `fprintf`, `LOG(..)`), with an OS call before that. When the
//! nearest call is the OS call itself (in a `let`, or in the condition around the read) the
//! read is right: nothing ran in between.

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
                let cleanup = kn.kind == Kind::Call && known::is_release(name);
                let log = kn.kind != Kind::Method && known::is_print_or_log(name);
                match clobber {
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
