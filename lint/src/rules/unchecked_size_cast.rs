//! `unchecked_size_cast`: a 64-bit value from outside narrowed with `as` or a C/C++ cast.
//!
//! Untrusted 64-bit values, known without a type checker: file lengths (`metadata().len()`,
//! also through a `let meta = ….metadata()?`; `st_size`; `LARGE_INTEGER::QuadPart`), seek
//! results (`seek`, `stream_position`, `lseek`, `ftello`, `tellg`), integers decoded from bytes
//! (`u64::from_le_bytes`, `read_u64`, `get_u64_le`, …), parameters, locals and fields declared
//! 64-bit (`u64`, `i64`, `uint64_t`, `int64_t`, `off_t`, `long long`, …) in any file of the
//! crate or directory, results of the group's functions declared to return one, and arithmetic
//! on any of these. C/C++ declares every count and index 64-bit (`int64_t ne0`, a class's
//! `int64_t hidden_dim_`), so there locals, parameters and a class's own members are untrusted
//! only by where their value comes from, and another object's field only once that object was
//! filled from a file or buffer (`fread(&hdr, ..)`). Narrowing targets: `usize`, `isize`,
//! `u32`, `i32`, … and `size_t`, `uint32_t`, `int`, `DWORD`, … Masks, shifts and remainders are
//! deliberate; `.min(..)` bounds.
//!
//! Guards are followed: a cast inside `if v <= LIMIT { … }` (or the `else` of `if v > LIMIT`),
//! or after an `if` on `v` that compares it or calls `try_from` / `checked_*` and always leaves
//! (`if isize::try_from(len).is_err() { return Err(..) }`), or after an `assert!` comparing it,
//! is not flagged; nor is a local re-bound from a checked conversion
//! (`let len = usize::try_from(len)?`). A guard on a local bound to a sum that cannot wrap
//! (`let end = off.saturating_add(len)`, `off.checked_add(len)?`) guards both terms; one on a
//! plain `off + len`, which can wrap below the check, guards neither.

use std::collections::HashSet;

use crate::finding::Severity;
use crate::ir::{Function, Kind, Lang, Op, Unit};
use crate::known;
use crate::rules::{Cx, Example, Hit, Rule};
use crate::summary::owned;

/// The rule.
pub const RULE: Rule = Rule {
    id: "unchecked_size_cast",
    summary: "a 64-bit size or offset from outside is narrowed with `as`",
    why: "`as` silently truncates (or wraps the sign): a 5 GiB file length cast to `usize` on a \
          32-bit target becomes 1 GiB, and every bounds check after it checks the wrong number",
    fix: "convert with `usize::try_from(x)` (or `u32::try_from`) and turn the error into a typed \
          \"too large for this platform\" error",
    default_severity: Severity::Error,
    examples: &[
        Example {
            lang: "rust",
            flagged: "let end = file.seek(SeekFrom::End(0))?;\nlet mut buf = vec![0; end as usize];",
            fixed: "let end = file.seek(SeekFrom::End(0))?;\nlet end = usize::try_from(end).map_err(|_| Error::TooLarge(end))?;\nlet mut buf = vec![0; end];",
        },
        Example {
            lang: "cpp",
            flagged: "uint64_t n_tensors = gguf_get_u64(ctx, \"n_tensors\");\nstd::vector<tensor_info> infos((size_t) n_tensors);",
            fixed: "uint64_t n_tensors = gguf_get_u64(ctx, \"n_tensors\");\nif (n_tensors > SIZE_MAX / sizeof(tensor_info)) return false;\nstd::vector<tensor_info> infos((size_t) n_tensors);",
        },
    ],
    check,
};

/// Method names too common to trust a same-named function's return type for.
const COMMON: &[&str] = &[
    "len", "size", "count", "capacity", "get", "value", "into", "from", "clone", "sum", "max",
    "min", "read", "next", "parse", "as_u64", "unwrap",
];

fn check(cx: &Cx<'_, '_>, hits: &mut Vec<Hit>) {
    let unit = cx.unit;
    for f in &unit.functions {
        let mut scope = Scope {
            cx,
            f,
            wide: HashSet::new(),
            metadata: HashSet::new(),
            filled: HashSet::new(),
        };
        // C/C++ declares 64-bit locals and parameters for every count and index (`int64_t ne0`):
        // there a value is untrusted only by where it comes from, not by its declared type.
        for (name, ty) in f.params.iter().filter(|_| unit.lang == Lang::Rust) {
            if owned(unit, *ty).is_wide() {
                scope.wide.insert(name.as_str());
            }
        }
        // `let` updates apply when their initializer has been seen.
        let mut pending: Vec<u32> = Vec::new();
        for j in unit.descendants(f.body) {
            while let Some(&p) = pending.last() {
                if unit.node(p).last <= j {
                    pending.pop();
                    scope.bind(p);
                } else {
                    break;
                }
            }
            let n = unit.node(j);
            match n.kind {
                Kind::Let => pending.push(j),
                Kind::Assign if n.flags & crate::ir::COMPOUND == 0 => {
                    if let (Some(t), Some(v)) = (unit.child(j, 0), unit.child(j, 1)) {
                        if let Some(var) = unit.var_of(t) {
                            if scope.untrusted(v).is_some() {
                                scope.wide.insert(var);
                            }
                        }
                    }
                }
                Kind::Cast => {
                    if let Some(hit) = scope.cast(j) {
                        hits.push(hit);
                    }
                }
                Kind::Call | Kind::Method if unit.lang == Lang::Cpp && is_read(unit.name(j)) => {
                    // `fread(&h, ..)`, `read(fd, &n, 8)`, `f.read((char*)&n, 8)`, `memcpy(&n, p, 8)`.
                    for a in unit.children(j) {
                        if let Some(var) = address_of(unit, a) {
                            scope.filled.insert(var);
                            if unit.descendants(f.body).any(|d| {
                                unit.node(d).kind == Kind::Let
                                    && unit.name(d) == var
                                    && owned(unit, unit.node(d).ty).is_wide()
                            }) {
                                scope.wide.insert(var);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

struct Scope<'c, 'u, 't> {
    cx: &'c Cx<'u, 't>,
    f: &'c Function,
    /// Locals known to hold untrusted 64-bit values.
    wide: HashSet<&'t str>,
    /// Locals holding `Metadata` (their `.len()` is a file length).
    metadata: HashSet<&'t str>,
    /// C/C++ locals whose address was passed to a read (`fread(&h, ..)`): filled from outside.
    filled: HashSet<&'t str>,
}

impl<'t> Scope<'_, '_, 't> {
    fn unit(&self) -> &Unit<'t> {
        self.cx.unit
    }

    fn bind(&mut self, id: u32) {
        let unit = self.cx.unit;
        let n = unit.node(id);
        if n.name.len == 0 {
            return;
        }
        let name = unit.name(id);
        let init = unit.child(id, 0);
        let declared = n.ty != 0
            && !unit
                .ty(n.ty)
                .is_some_and(|t| t.name.is_empty() || t.name == "auto");
        let wide = if declared && unit.lang == Lang::Cpp {
            // `uint64_t n; read(fd, &n, 8);` makes `n` untrusted when the read is seen.
            init.is_some_and(|i| self.untrusted(i).is_some())
        } else if declared {
            owned(unit, n.ty).is_wide() && init.is_none_or(|i| !self.is_checked_conversion(i))
        } else {
            init.is_some_and(|i| self.untrusted(i).is_some())
        };
        if wide {
            self.wide.insert(name);
        } else {
            self.wide.remove(name);
        }
        if init.is_some_and(|i| self.is_metadata(i)) {
            self.metadata.insert(name);
        } else {
            self.metadata.remove(name);
        }
    }

    fn is_checked_conversion(&self, e: u32) -> bool {
        let unit = self.unit();
        unit.subtree(e).any(|i| {
            matches!(unit.node(i).kind, Kind::Call | Kind::Method)
                && unit.name(i).contains("try_from")
        })
    }

    fn cast(&self, id: u32) -> Option<Hit> {
        let unit = self.unit();
        let target = unit.ty(unit.node(id).ty)?;
        if target.pointer || !known::is_narrow_int(&target.name) {
            return None;
        }
        let src = unit.child(id, 0)?;
        let what = self.untrusted(src)?;
        if let Some(var) = self.source_var(src) {
            if self.guarded(var, id) {
                return None;
            }
        }
        let how = if unit.lang == Lang::Rust {
            "with `as`"
        } else {
            "with a cast"
        };
        Some(Hit::at(
            unit,
            id,
            format!(
                "{what} is narrowed to `{}` {how}, which truncates it silently",
                target.name
            ),
        ))
    }

    /// The variable (or field) whose value is cast, for guard matching.
    fn source_var(&self, e: u32) -> Option<&'t str> {
        let unit = self.unit();
        let mut e = e;
        for _ in 0..16 {
            e = unit.peel(e);
            let n = unit.node(e);
            match n.kind {
                Kind::Path => return Some(unit.name(e)),
                Kind::Field => return Some(unit.name(e)),
                Kind::Try | Kind::Other | Kind::Unary => e = unit.child(e, 0)?,
                Kind::Method
                    if matches!(
                        unit.name(e),
                        "unwrap" | "expect" | "unwrap_or" | "unwrap_or_default"
                    ) =>
                {
                    e = unit.child(e, 0)?
                }
                Kind::Binary => e = unit.child(e, 0)?,
                _ => return None,
            }
        }
        None
    }

    /// Whether a guard on `var`, or on a local bound before `at` to a sum of `var` that cannot
    /// wrap (`let end = off.saturating_add(len)`, `off.checked_add(len)?`), protects the cast
    /// `at`: `end <= bound` bounds both terms.
    fn guarded(&self, var: &str, at: u32) -> bool {
        let unit = self.unit();
        if self.guarded_by(var, at) {
            return true;
        }
        unit.descendants(self.f.body)
            .take_while(|&d| d < at)
            .filter(|&d| unit.node(d).kind == Kind::Let && unit.node(d).name.len != 0)
            .filter(|&d| unit.child(d, 0).is_some_and(|i| self.sum_of(i, var)))
            .any(|d| self.guarded_by(unit.name(d), at))
    }

    /// Whether `e` is `a.saturating_add(b)` or `a.checked_add(b)` (unwrapped or `?`), with
    /// `var` as `a` or `b`.
    fn sum_of(&self, e: u32, var: &str) -> bool {
        let unit = self.unit();
        let mut e = unit.peel(e);
        for _ in 0..4 {
            let n = unit.node(e);
            let unwrap = n.kind == Kind::Try
                || n.kind == Kind::Method && matches!(unit.name(e), "unwrap" | "expect");
            if !unwrap {
                break;
            }
            let Some(inner) = unit.child(e, 0) else {
                return false;
            };
            e = unit.peel(inner);
        }
        unit.node(e).kind == Kind::Method
            && matches!(unit.name(e), "saturating_add" | "checked_add")
            && unit
                .children(e)
                .take(2)
                .any(|t| self.source_var(t) == Some(var))
    }

    /// Whether a guard on `var` itself protects the cast `at`.
    fn guarded_by(&self, var: &str, at: u32) -> bool {
        let unit = self.unit();
        let mentions = |x: u32| {
            unit.subtree(x).any(|i| {
                let n = unit.node(i);
                matches!(n.kind, Kind::Path | Kind::Field) && unit.name(i) == var
            })
        };
        for g in unit.descendants(self.f.body).take_while(|&g| g < at) {
            let n = unit.node(g);
            match n.kind {
                Kind::If => {
                    let Some(cond) = unit.child(g, 0) else {
                        continue;
                    };
                    if !mentions(cond) {
                        continue;
                    }
                    let Some(then) = unit.child(g, 1) else {
                        continue;
                    };
                    if unit.contains(then, at) && self.bounds(cond, var, true) {
                        return true;
                    }
                    if let Some(els) = unit.child(g, 2) {
                        if unit.contains(els, at) && self.bounds(cond, var, false) {
                            return true;
                        }
                    }
                    if unit.always_exits(then)
                        && self.bounds(cond, var, false)
                        && unit.dominates(g, at)
                    {
                        return true;
                    }
                }
                Kind::Macro | Kind::Call | Kind::Exit => {
                    let name = unit.name(g).to_ascii_lowercase();
                    if (name.contains("assert")
                        || name.contains("ensure")
                        || name.contains("check")
                        || n.kind == Kind::Exit)
                        && mentions(g)
                        && (self.bounds(g, var, true) || self.bounds(g, var, false))
                        && unit.dominates(g, at)
                    {
                        return true;
                    }
                }
                _ => {}
            }
        }
        false
    }

    /// Whether `cond` bounds `var` from above when it holds (`small == true`: `var <= E`) or
    /// when it fails (`small == false`: `var > E`), or checks it with a conversion call.
    fn bounds(&self, cond: u32, var: &str, small: bool) -> bool {
        let unit = self.unit();
        unit.subtree(cond).any(|i| {
            let n = unit.node(i);
            match n.kind {
                Kind::Binary if n.op.is_comparison() && !matches!(n.op, Op::Eq | Op::Ne) => {
                    let (Some(l), Some(r)) = (unit.child(i, 0), unit.child(i, 1)) else {
                        return false;
                    };
                    let on = |x: u32| {
                        unit.subtree(x).any(|k| {
                            matches!(unit.node(k).kind, Kind::Path | Kind::Field)
                                && unit.name(k) == var
                        })
                    };
                    let var_small = match n.op {
                        Op::Lt | Op::Le => on(l),
                        _ => on(r),
                    };
                    let var_big = match n.op {
                        Op::Gt | Op::Ge => on(l),
                        _ => on(r),
                    };
                    if small { var_small } else { var_big }
                }
                Kind::Call | Kind::Method => {
                    let name = unit.name(i);
                    (name.contains("try_from")
                        || name.contains("checked")
                        || name.contains("fits")
                        || name.starts_with("try_into"))
                        && unit.subtree(i).any(|k| unit.name(k) == var)
                }
                _ => false,
            }
        })
    }

    /// What makes `e` an untrusted 64-bit value, if it is one.
    fn untrusted(&self, e: u32) -> Option<String> {
        let unit = self.unit();
        let summary = self.cx.summary;
        let e = unit.peel(e);
        let n = unit.node(e);
        match n.kind {
            Kind::Try | Kind::Other => {
                if unit.children(e).count() == 1 {
                    self.untrusted(unit.child(e, 0)?)
                } else {
                    None
                }
            }
            Kind::Path => {
                let name = unit.name(e);
                if n.qual.len == 0 && self.wide.contains(name) {
                    return Some(format!("`{name}`, a 64-bit value"));
                }
                // A C++ class's own member (`hidden_dim_`, read through the implicit `this`) is
                // not untrusted by its declared type, as locals and parameters are not: C++
                // declares every count and index `int64_t`.
                None
            }
            Kind::Field => {
                let name = unit.name(e);
                if matches!(name, "st_size" | "QuadPart" | "st_blocks") {
                    return Some(format!("a 64-bit file size (`{name}`)"));
                }
                let base = unit.child(e, 0);
                if unit.lang == Lang::Cpp {
                    // C/C++ declares every count 64-bit: a field is untrusted when its object
                    // was filled from a file or buffer (`fread(&hdr, ..)`, `f.read((char*)&h, ..)`).
                    let filled = base
                        .and_then(|b| unit.var_of(b))
                        .is_some_and(|b| self.filled.contains(b));
                    return (filled && summary.field_wide(name)).then(|| {
                        format!("field `{name}` of a value read from a file, declared 64-bit")
                    });
                }
                let on_self = base
                    .and_then(|b| unit.var_of(b))
                    .is_some_and(|b| b == "self" || b == "this");
                if on_self {
                    if let Some(owner) = self.f.owner.as_deref() {
                        if let Some(t) = summary.field(owner, name) {
                            return t
                                .is_wide()
                                .then(|| format!("field `{name}`, declared 64-bit"));
                        }
                    }
                }
                summary
                    .field_wide(name)
                    .then(|| format!("field `{name}`, declared 64-bit"))
            }
            Kind::Binary if n.op == Op::Arith => {
                let l = unit.child(e, 0)?;
                let r = unit.child(e, 1)?;
                self.untrusted(l).or_else(|| self.untrusted(r))
            }
            Kind::Cast => {
                let t = unit.ty(n.ty)?;
                if known::is_wide_int(&t.name) {
                    self.untrusted(unit.child(e, 0)?)
                } else {
                    None
                }
            }
            Kind::Call => {
                let name = unit.name(e);
                let qual = unit.qual(e);
                if matches!(qual, "u64" | "i64")
                    && matches!(name, "from_le_bytes" | "from_be_bytes" | "from_ne_bytes")
                {
                    return Some("an integer decoded from bytes".to_owned());
                }
                if matches!(
                    name,
                    "lseek"
                        | "lseek64"
                        | "ftello"
                        | "ftello64"
                        | "_ftelli64"
                        | "_lseeki64"
                        | "ftell"
                ) {
                    return Some(format!("the result of `{name}`"));
                }
                if is_decode(name) {
                    return Some("an integer decoded from bytes".to_owned());
                }
                let reader = unit.lang == Lang::Rust || reads_wide_value(name);
                if reader && !COMMON.contains(&name) && summary.returns_wide(name) {
                    return Some(format!("the result of `{name}`, declared 64-bit"));
                }
                None
            }
            Kind::Method => {
                let method = unit.name(e);
                match method {
                    "unwrap" | "expect" | "unwrap_or" | "unwrap_or_default" | "checked_add"
                    | "checked_sub" | "checked_mul" | "saturating_add" | "saturating_sub"
                    | "wrapping_add" | "wrapping_sub" | "unwrap_or_else" | "saturating_mul"
                    | "wrapping_mul" | "abs" | "unsigned_abs" => self.untrusted(unit.child(e, 0)?),
                    "len" | "file_size" if self.is_metadata(unit.child(e, 0)?) => {
                        Some("a file length".to_owned())
                    }
                    "seek" | "stream_position" | "stream_len" | "tellg" | "tellp" | "seekg" => {
                        Some(format!("the result of `{method}`"))
                    }
                    _ if is_decode(method) => Some("an integer decoded from bytes".to_owned()),
                    _ if !COMMON.contains(&method) && summary.returns_wide(method) => {
                        Some(format!("the result of `{method}`, declared 64-bit"))
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// Whether `e` is a `Metadata`: `x.metadata()`, `fs::metadata(p)`, or a local holding one.
    fn is_metadata(&self, e: u32) -> bool {
        let unit = self.unit();
        let e = unit.peel(e);
        let n = unit.node(e);
        match n.kind {
            Kind::Try | Kind::Other => unit.child(e, 0).is_some_and(|c| self.is_metadata(c)),
            Kind::Method => match unit.name(e) {
                "metadata" | "symlink_metadata" => true,
                "unwrap" | "expect" => unit.child(e, 0).is_some_and(|c| self.is_metadata(c)),
                _ => false,
            },
            Kind::Call => matches!(unit.name(e), "metadata" | "symlink_metadata"),
            Kind::Path => n.qual.len == 0 && self.metadata.contains(unit.name(e)),
            Kind::Unary => unit.child(e, 0).is_some_and(|c| self.is_metadata(c)),
            _ => false,
        }
    }
}

/// A C/C++ function whose name says it reads a 64-bit value (`gguf_get_val_u64`,
/// `read_uint64`, `get_i64`): its result comes from the file, not from arithmetic.
fn reads_wide_value(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    ["u64", "i64", "uint64", "int64"]
        .iter()
        .any(|w| lower.contains(w))
        && ["get", "read", "load", "parse", "fetch"]
            .iter()
            .any(|w| lower.contains(w))
}

fn is_decode(name: &str) -> bool {
    matches!(
        name,
        "read_u64"
            | "read_i64"
            | "get_u64"
            | "get_u64_le"
            | "get_u64_ne"
            | "get_i64"
            | "get_i64_le"
            | "get_i64_ne"
            | "read_u64_le"
            | "read_u64_be"
            | "read_i64_le"
            | "read_i64_be"
            | "get_u64_be"
            | "get_i64_be"
            | "read_u64_into"
    )
}

/// Calls that fill their destination argument from a file, socket or buffer.
fn is_read(name: &str) -> bool {
    matches!(
        name,
        "read"
            | "fread"
            | "pread"
            | "pread64"
            | "ReadFile"
            | "recv"
            | "recvfrom"
            | "memcpy"
            | "gguf_fread_el"
            | "read_raw"
            | "read_exact"
    )
}

/// `&x` or `(char*)&x` → `x`.
fn address_of<'t>(unit: &Unit<'t>, a: u32) -> Option<&'t str> {
    let mut a = a;
    for _ in 0..4 {
        let n = unit.node(a);
        match n.kind {
            Kind::Cast | Kind::Other => a = unit.child(a, 0)?,
            Kind::Unary if n.op == Op::Ref => {
                let inner = unit.peel(unit.child(a, 0)?);
                let i = unit.node(inner);
                return (i.kind == Kind::Path && i.qual.len == 0).then(|| unit.name(inner));
            }
            _ => return None,
        }
    }
    None
}
