//! `uninit_status`: a status or out-parameter read before it holds a value.
//!
//! Shapes: `MaybeUninit::uninit().assume_init()` and `mem::uninitialized()` (unless the value
//! is itself an array of `MaybeUninit`, the sound idiom — declared on the `let` or in the
//! turbofish); an out-parameter `MaybeUninit` passed to a call whose status is bound to a
//! local, then `assume_init()`-ed before any condition tests that status (a status checked in
//! place with `?` counts as tested); a status variable — named `status`, `rc`, `ret`, `hr`,
//! `err`, … — declared without a value (`int rc;`) and assigned on some paths only, or declared
//! with the success value (`0`, `S_OK`, `ERROR_SUCCESS`, `*_SUCCESS`) and assigned a call's
//! answer on some paths only (setting a failure value on the bad path, `status = OK; if (bad)
//! status = Status(INTERNAL, ..);`, is the ordinary idiom), then tested — or, in C/C++,
//! declared without a value, assigned on some paths only, then returned (`return rc;`). Passing
//! `&mut rc` to a callee counts as assigning it, and so does writing an element or field of it
//! (`res[0] = …`, `res.val[0] = …`). A returned variable that nothing visible assigns is not
//! flagged: inline `asm` outputs and macros write it out of sight.

use crate::finding::Severity;
use crate::ir::{Kind, Lang, MUT, NO_INIT, Op, Unit};
use crate::rules::{Cx, Example, Hit, Rule};

/// The rule.
pub const RULE: Rule = Rule {
    id: "uninit_status",
    summary: "a status or out-parameter is read before it holds the call's answer",
    why: "reading uninitialized memory is undefined behaviour, and a status that starts as \
          success reports success on every path that forgot to assign it",
    fix: "check the status before `assume_init`, initialize out-parameters (`MaybeUninit::zeroed`, \
          a default), and assign the status on every path (or start it as a failure)",
    default_severity: Severity::Error,
    examples: &[
        Example {
            lang: "rust",
            flagged: "let mut st = MaybeUninit::<libc::stat>::uninit();\nlet rc = unsafe { libc::fstat(fd, st.as_mut_ptr()) };\nlet st = unsafe { st.assume_init() };\nif rc != 0 { return Err(io::Error::last_os_error()); }",
            fixed: "let mut st = MaybeUninit::<libc::stat>::uninit();\nlet rc = unsafe { libc::fstat(fd, st.as_mut_ptr()) };\nif rc != 0 { return Err(io::Error::last_os_error()); }\n// SAFETY: `fstat` succeeded, so it wrote the whole `stat`.\nlet st = unsafe { st.assume_init() };",
        },
        Example {
            lang: "cpp",
            flagged: "HRESULT hr = S_OK;\nif (prefetch) hr = PrefetchVirtualMemory(process, 1, &range, 0) ? S_OK : E_FAIL;\nif (FAILED(hr)) return hr; // the other path never ran a call",
            fixed: "HRESULT hr = prefetch ? prefetch_range(process, range) : map_normal(handle);\nif (FAILED(hr)) return hr;",
        },
    ],
    check,
};

fn check(cx: &Cx<'_, '_>, hits: &mut Vec<Hit>) {
    let unit = cx.unit;
    for f in &unit.functions {
        for i in unit.descendants(f.body) {
            let n = unit.node(i);
            match n.kind {
                Kind::Method if unit.name(i) == "assume_init" => {
                    let Some(recv) = unit.child(i, 0) else {
                        continue;
                    };
                    let recv = unit.peel(recv);
                    if is_uninit_call(unit, recv) && !maybe_uninit_array(unit, i, recv) {
                        hits.push(Hit::at(
                            unit,
                            i,
                            "`MaybeUninit::uninit().assume_init()` reads uninitialized memory",
                        ));
                    }
                }
                Kind::Call
                    if unit.name(i) == "uninitialized"
                        && matches!(unit.qual(i), "mem" | "")
                        && unit.lang == Lang::Rust =>
                {
                    hits.push(Hit::at(
                        unit,
                        i,
                        "`mem::uninitialized()` reads uninitialized memory",
                    ));
                }
                Kind::Let if unit.lang == Lang::Rust => {
                    if let Some(hit) = out_param(unit, f.body, i) {
                        hits.push(hit);
                    }
                    if let Some(hit) = partial_status(unit, i) {
                        hits.push(hit);
                    }
                }
                Kind::Let => {
                    if let Some(hit) = partial_status(unit, i) {
                        hits.push(hit);
                    }
                }
                _ => {}
            }
        }
    }
}

fn is_uninit_call(unit: &Unit<'_>, id: u32) -> bool {
    unit.node(id).kind == Kind::Call && unit.name(id) == "uninit" && unit.qual(id) == "MaybeUninit"
}

/// Whether the value is an array of `MaybeUninit` (declared on the enclosing `let`, or in the
/// turbofish of the call).
fn maybe_uninit_array(unit: &Unit<'_>, at: u32, call: u32) -> bool {
    let is_array_of_mu = |ty: u32| {
        unit.ty(ty).is_some_and(|t| {
            t.array
                && t.args
                    .first()
                    .and_then(|&e| unit.ty(e))
                    .is_some_and(|e| e.name == "MaybeUninit")
        })
    };
    if is_array_of_mu(unit.node(call).ty) {
        return true;
    }
    unit.ancestors(at)
        .find(|&a| unit.node(a).kind == Kind::Let)
        .is_some_and(|l| {
            is_array_of_mu(unit.node(l).ty)
                || unit
                    .ty(unit.node(l).ty)
                    .is_some_and(|t| t.name == "MaybeUninit" || t.array)
        })
}

/// `let mut st = MaybeUninit::uninit(); let rc = f(st.as_mut_ptr()); st.assume_init()` with no
/// test of `rc` in between.
fn out_param(unit: &Unit<'_>, body: u32, let_id: u32) -> Option<Hit> {
    let init = unit.peel(unit.child(let_id, 0)?);
    if !is_uninit_call(unit, init) {
        return None;
    }
    let out = unit.name(let_id);
    let end = unit.node(body).last;
    let mut status: Option<(&str, u32)> = None;
    let mut j = unit.node(let_id).last;
    while j < end {
        let n = unit.node(j);
        if n.kind == Kind::Closure {
            j = n.last;
            continue;
        }
        match n.kind {
            Kind::Let if status.is_none() && n.name.len > 0 => {
                let value = unit.child(j, 0).map(|v| unit.peel(v));
                let is_status =
                    value.is_some_and(|v| unit.node(v).kind == Kind::Call && unit.mentions(v, out));
                if is_status {
                    status = Some((unit.name(j), j));
                }
            }
            Kind::If | Kind::Match => {
                if let (Some((rc, _)), Some(cond)) = (status, unit.child(j, 0)) {
                    if unit.mentions(cond, rc) {
                        return None;
                    }
                }
            }
            Kind::Method if unit.name(j) == "assume_init" => {
                if let Some((rc, _)) = status {
                    if unit.child(j, 0).and_then(|r| unit.var_of(r)) == Some(out) {
                        return Some(Hit::at(
                            unit,
                            j,
                            format!(
                                "`{out}.assume_init()` runs before `{rc}` (the status of the call that fills `{out}`) is checked"
                            ),
                        ));
                    }
                }
            }
            _ => {}
        }
        j += 1;
    }
    None
}

fn is_status_name(name: &str) -> bool {
    matches!(
        name,
        "status"
            | "rc"
            | "ret"
            | "retval"
            | "ret_val"
            | "hr"
            | "hres"
            | "hresult"
            | "err"
            | "error"
            | "res"
            | "result_code"
            | "status_code"
            | "nrt_status"
            | "qnn_status"
    ) || name.ends_with("_status")
        || name.ends_with("_rc")
}

/// Scalar types a status is declared with: `int`, `long`, `HRESULT`, `DWORD`, `NTSTATUS`,
/// `cudaError_t`, `cl_int`, `esp_err_t`, `Qnn_ErrorHandle_t`, `enum ggml_status`, …
fn is_scalar_status_type(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    matches!(
        name,
        "int"
            | "long"
            | "short"
            | "unsigned"
            | "unsigned int"
            | "long long"
            | "ssize_t"
            | "BOOL"
            | "HRESULT"
            | "DWORD"
            | "NTSTATUS"
            | "LSTATUS"
            | "LONG"
            | "UINT"
            | "i32"
            | "c_int"
    ) || lower.ends_with("_t")
        || lower.contains("status")
        || lower.contains("error")
        || lower.contains("result")
        || lower.ends_with("err")
        || name.starts_with("cl_")
}

fn is_success_value(unit: &Unit<'_>, v: u32) -> bool {
    let v = unit.peel(v);
    let n = unit.node(v);
    let name = unit.name(v);
    match n.kind {
        Kind::Lit => name == "0",
        Kind::Path => {
            matches!(
                name,
                "S_OK" | "ERROR_SUCCESS" | "NO_ERROR" | "STATUS_SUCCESS" | "ESP_OK"
            ) || name.ends_with("_SUCCESS")
                || name == "Success"
        }
        _ => false,
    }
}

/// A status declared without a value (C) or with the success value, assigned on some paths
/// only before it is tested.
fn partial_status(unit: &Unit<'_>, let_id: u32) -> Option<Hit> {
    let n = *unit.node(let_id);
    if n.name.len == 0 || n.flags & MUT == 0 {
        return None;
    }
    let var = unit.name(let_id);
    if !is_status_name(var) {
        return None;
    }
    let no_init = n.flags & NO_INIT != 0;
    if !no_init
        && !unit
            .child(let_id, 0)
            .is_some_and(|v| is_success_value(unit, v))
    {
        return None;
    }
    if unit
        .ty(n.ty)
        .is_some_and(|t| t.array || t.pointer && unit.lang == Lang::Cpp)
    {
        return None;
    }
    // A C++ object declared without a value is constructed: only scalars start undefined.
    if no_init
        && !unit
            .ty(n.ty)
            .is_some_and(|t| is_scalar_status_type(&t.name))
    {
        return None;
    }
    let block = unit.enclosing_block(let_id)?;
    let block_end = unit.node(block).last;
    // The status type's name (`Status` in `auto status = Status::Success;`): assigning one
    // built in place (`status = Status(Code::INTERNAL, ..)`) sets a failure, it is no call's
    // answer.
    let status_ty = match unit.ty(n.ty).map(|t| t.name.as_str()) {
        Some(t) if !t.is_empty() && t != "auto" => last_segment(t).to_owned(),
        _ => unit
            .child(let_id, 0)
            .map(|v| unit.qual(unit.peel(v)).to_owned())
            .unwrap_or_default(),
    };
    // Whether some assignment before the test stores what a call returned (or hands the
    // status to a call to fill): a success-initialized status assigned only failure values
    // on some paths is the ordinary `status = OK; if (bad) status = ERR;`.
    let mut from_call = false;
    // The statements after the `let`, up to the first test of the variable.
    let mut assigned = false;
    let mut stmt = n.last;
    while stmt < block_end {
        let s = *unit.node(stmt);
        let tested = test_of(unit, stmt, var);
        if let Some(test) = tested {
            // What runs before the test inside this statement counts too.
            let before_test = unit.subtree(stmt).take_while(|&k| k < test);
            for k in before_test {
                if writes(unit, k, var) {
                    if unit.dominates(k, test) {
                        // Assigned on every path to this test.
                        return None;
                    }
                    assigned = true;
                    from_call |= call_answer(unit, k, &status_ty);
                }
            }
            // A success-initialized status is a finding only if a call's answer is missing on
            // the other path.
            let call_missing = assigned && from_call;
            if !no_init && !call_missing {
                return None;
            }
            let what = if no_init {
                "is declared without a value"
            } else {
                "starts as success"
            };
            let how = if assigned {
                "is assigned only on some paths"
            } else {
                "is never assigned"
            };
            return Some(Hit::span(
                n.name.start,
                n.name.start + n.name.len,
                format!("`{var}` {what} and {how} before it is checked"),
            ));
        }
        if all_paths_assign(unit, stmt, var, 0) {
            return None;
        }
        for k in unit.subtree(stmt).filter(|&k| writes(unit, k, var)) {
            assigned = true;
            from_call |= call_answer(unit, k, &status_ty);
        }
        if s.kind == Kind::Return && no_init && assigned && unit.lang == Lang::Cpp {
            // `return rc;` reads it: on the paths that skipped the assignment, an indeterminate
            // value (Rust rejects that read at compile time). One never assigned at all is not
            // flagged here: what writes it is then out of sight (inline `asm` outputs, a macro).
            let reads = unit.child(stmt, 0).is_some_and(|v| {
                unit.mentions(v, var) && !unit.subtree(v).any(|k| writes(unit, k, var))
            });
            if !reads {
                return None;
            }
            return Some(Hit::span(
                n.name.start,
                n.name.start + n.name.len,
                format!(
                    "`{var}` is declared without a value and is assigned only on some paths \
                     before it is returned"
                ),
            ));
        }
        if s.kind == Kind::Return || s.kind == Kind::Exit {
            return None;
        }
        stmt = s.last;
    }
    None
}

/// Whether write `k` (see [`writes`]) stores a call's answer: an assignment whose value calls
/// something other than the status type's own constructor, or the status handed to a call.
fn call_answer(unit: &Unit<'_>, k: u32, status_ty: &str) -> bool {
    if unit.node(k).kind != Kind::Assign {
        return true;
    }
    unit.child(k, 1).is_some_and(|v| {
        unit.subtree(v).any(|c| {
            matches!(unit.node(c).kind, Kind::Call | Kind::Method)
                && (status_ty.is_empty() || unit.name(c) != status_ty)
        })
    })
}

fn last_segment(path: &str) -> &str {
    path.rsplit("::").next().unwrap_or(path)
}

/// Where statement `stmt` first tests `var` (an `if` / `match` / `switch` / loop condition).
fn test_of(unit: &Unit<'_>, stmt: u32, var: &str) -> Option<u32> {
    unit.subtree(stmt).find(|&k| {
        let kn = unit.node(k);
        matches!(kn.kind, Kind::If | Kind::Match | Kind::Loop)
            && unit.child(k, 0).is_some_and(|c| {
                // `if (fstat(fd, &st) != 0)` passes it to be written, it does not test it.
                unit.node(c).kind != Kind::Block
                    && unit.mentions(c, var)
                    && !unit.subtree(c).any(|x| writes(unit, x, var))
            })
    })
}

/// Whether node `k` writes `var`: an assignment to it, or `&mut var` / `&var` passed on.
fn writes(unit: &Unit<'_>, k: u32, var: &str) -> bool {
    let n = unit.node(k);
    match n.kind {
        Kind::Assign => unit.child(k, 0).is_some_and(|t| {
            // `res.val[0] = …` / `res[i] = …` writes (part of) `res`.
            let mut t = t;
            while unit.lang == Lang::Cpp && matches!(unit.node(t).kind, Kind::Field | Kind::Index) {
                match unit.child(t, 0) {
                    Some(base) => t = base,
                    None => break,
                }
            }
            unit.is_var(t, var)
        }),
        Kind::Unary if n.op == Op::Ref => unit.child(k, 0).is_some_and(|t| unit.is_var(t, var)),
        // C++ passes out-parameters by reference: `read_content(strm, res, max, status, ..)`.
        // A status passed bare to a call other than a test macro may be written by it.
        Kind::Path if unit.lang == Lang::Cpp && unit.is_var(k, var) => {
            let p = unit.parent(k);
            let pn = unit.node(p);
            matches!(pn.kind, Kind::Call | Kind::Method)
                && unit.child(p, 0) != Some(k)
                && !is_test_macro(unit.name(p))
        }
        _ => false,
    }
}

/// Status tests written as calls: `FAILED(hr)`, `SUCCEEDED(hr)`, `CHECK(rc)`, …
fn is_test_macro(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    upper == name
        && (upper.contains("FAIL")
            || upper.contains("SUCCE")
            || upper.contains("CHECK")
            || upper.contains("ASSERT")
            || upper.contains("ERR"))
}

/// Whether every path through statement `s` assigns `var`.
fn all_paths_assign(unit: &Unit<'_>, s: u32, var: &str, depth: usize) -> bool {
    if depth > 64 {
        return false;
    }
    let n = unit.node(s);
    match n.kind {
        Kind::Assign | Kind::Unary if writes(unit, s, var) => true,
        Kind::Block => unit
            .children(s)
            .any(|c| all_paths_assign(unit, c, var, depth + 1)),
        Kind::If => {
            let then = unit.child(s, 1);
            let els = unit.child(s, 2);
            match (then, els) {
                (Some(t), Some(e)) => {
                    (all_paths_assign(unit, t, var, depth + 1) || unit.always_exits(t))
                        && (all_paths_assign(unit, e, var, depth + 1) || unit.always_exits(e))
                }
                _ => false,
            }
        }
        Kind::Match => {
            let arms: Vec<u32> = unit.children(s).skip(1).collect();
            let has_default =
                unit.lang == Lang::Rust || arms.iter().any(|&a| unit.node(a).name.len == 0);
            has_default
                && !arms.is_empty()
                && arms.iter().all(|&a| {
                    unit.children(a).last().is_some_and(|b| {
                        all_paths_assign(unit, b, var, depth + 1) || unit.always_exits(b)
                    })
                })
        }
        Kind::Other | Kind::Method | Kind::Call | Kind::Let | Kind::Assign | Kind::Unary => {
            unit.subtree(s).any(|k| {
                writes(unit, k, var)
                    && !unit.ancestors(k).take_while(|&a| a != s).any(|a| {
                        matches!(
                            unit.node(a).kind,
                            Kind::If | Kind::Match | Kind::Loop | Kind::Closure
                        )
                    })
            })
        }
        _ => false,
    }
}
