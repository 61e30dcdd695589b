//! `unchecked_size_cast`: a narrowing `as` cast of a 64-bit value that comes from outside.
//!
//! Untrusted 64-bit values, known without a type checker: file lengths (`metadata().len()`,
//! also through a `let meta = ….metadata()?`), `seek` / `stream_position` results, integers
//! decoded from bytes (`u64::from_le_bytes`, `read_u64`, `get_u64_le`, …), parameters, locals
//! and struct fields declared `u64` / `i64` in the file, and arithmetic on any of these. Masks
//! (`& 0xff`), shifts and remainders are deliberate and not flagged; `.min(..)` bounds the value.

use std::collections::HashSet;

use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{BinOp, Expr, Pat, Type};

use crate::context::FileContext;
use crate::finding::Severity;
use crate::rules::{Hit, Rule};
use crate::syntax::{last_segment, parent_segment, peel, type_name};

/// The rule.
pub const RULE: Rule = Rule {
    id: "unchecked_size_cast",
    summary: "a 64-bit size or offset from outside is narrowed with `as`",
    why: "`as` silently truncates (or wraps the sign): a 5 GiB file length cast to `usize` on a \
          32-bit target becomes 1 GiB, and every bounds check after it checks the wrong number",
    fix: "convert with `usize::try_from(x)` (or `u32::try_from`) and turn the error into a typed \
          \"too large for this platform\" error",
    default_severity: Severity::Error,
    check,
};

const NARROW: &[&str] = &["usize", "isize", "u32", "i32", "u16", "i16", "u8", "i8"];

fn is_wide(ty: &Type) -> bool {
    matches!(type_name(ty).as_deref(), Some("u64" | "i64"))
}

fn check(ctx: &FileContext<'_>) -> Vec<Hit> {
    let wide_fields: HashSet<String> = ctx
        .field_types
        .iter()
        .filter(|(_, types)| types.iter().all(is_wide))
        .map(|(name, _)| name.clone())
        .collect();
    let mut hits = Vec::new();
    for function in &ctx.functions {
        let mut scope = Scope {
            wide_fields: &wide_fields,
            wide: HashSet::new(),
            metadata: HashSet::new(),
            hits: Vec::new(),
        };
        for input in &function.sig.inputs {
            if let syn::FnArg::Typed(t) = input {
                if let Pat::Ident(p) = &*t.pat {
                    if is_wide(&t.ty) {
                        scope.wide.insert(p.ident.to_string());
                    }
                }
            }
        }
        scope.visit_block(function.block);
        hits.append(&mut scope.hits);
    }
    hits
}

struct Scope<'f> {
    wide_fields: &'f HashSet<String>,
    /// Locals known to hold untrusted 64-bit values.
    wide: HashSet<String>,
    /// Locals holding `Metadata` (their `.len()` is a file length).
    metadata: HashSet<String>,
    hits: Vec<Hit>,
}

impl Scope<'_> {
    /// What makes `e` an untrusted 64-bit value, if it is one.
    fn untrusted(&self, e: &Expr) -> Option<String> {
        match peel(e) {
            Expr::Try(t) => self.untrusted(&t.expr),
            Expr::Path(p) => {
                let name = last_segment(&p.path)?;
                (p.path.segments.len() == 1 && self.wide.contains(&name))
                    .then(|| format!("`{name}`, a 64-bit value"))
            }
            Expr::Field(f) => match &f.member {
                syn::Member::Named(name) if self.wide_fields.contains(&name.to_string()) => {
                    Some(format!("field `{name}`, declared 64-bit"))
                }
                _ => None,
            },
            Expr::Binary(b) => match b.op {
                BinOp::Add(_) | BinOp::Sub(_) | BinOp::Mul(_) | BinOp::Div(_) => {
                    self.untrusted(&b.left).or_else(|| self.untrusted(&b.right))
                }
                _ => None,
            },
            Expr::Call(call) => {
                let Expr::Path(f) = &*call.func else {
                    return None;
                };
                let name = last_segment(&f.path)?;
                let ty = parent_segment(&f.path);
                if matches!(ty.as_deref(), Some("u64" | "i64"))
                    && matches!(
                        name.as_str(),
                        "from_le_bytes" | "from_be_bytes" | "from_ne_bytes"
                    )
                {
                    return Some("an integer decoded from bytes".to_owned());
                }
                None
            }
            Expr::MethodCall(m) => {
                let method = m.method.to_string();
                match method.as_str() {
                    "unwrap" | "expect" | "unwrap_or" | "unwrap_or_default" | "checked_add"
                    | "checked_sub" | "checked_mul" | "saturating_add" | "saturating_sub"
                    | "wrapping_add" | "wrapping_sub" | "unwrap_or_else" => {
                        self.untrusted(&m.receiver)
                    }
                    "len" | "file_size" if self.is_metadata(&m.receiver) => {
                        Some("a file length".to_owned())
                    }
                    "seek" | "stream_position" | "stream_len" => {
                        Some(format!("the result of `{method}`"))
                    }
                    "read_u64" | "read_i64" | "get_u64" | "get_u64_le" | "get_u64_ne"
                    | "get_i64" | "get_i64_le" | "get_i64_ne" | "read_u64_le" | "read_u64_be"
                    | "read_i64_le" => Some("an integer decoded from bytes".to_owned()),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// Whether `e` is a `Metadata`: `x.metadata()`, `fs::metadata(p)`, or a local holding one.
    fn is_metadata(&self, e: &Expr) -> bool {
        match peel(e) {
            Expr::Try(t) => self.is_metadata(&t.expr),
            Expr::MethodCall(m) => match m.method.to_string().as_str() {
                "metadata" | "symlink_metadata" => true,
                "unwrap" | "expect" => self.is_metadata(&m.receiver),
                _ => false,
            },
            Expr::Call(c) => match &*c.func {
                Expr::Path(f) => matches!(
                    last_segment(&f.path).as_deref(),
                    Some("metadata" | "symlink_metadata")
                ),
                _ => false,
            },
            Expr::Path(p) => p
                .path
                .get_ident()
                .is_some_and(|i| self.metadata.contains(&i.to_string())),
            Expr::Reference(r) => self.is_metadata(&r.expr),
            _ => false,
        }
    }
}

impl<'a> Visit<'a> for Scope<'_> {
    fn visit_local(&mut self, node: &'a syn::Local) {
        syn::visit::visit_local(self, node);
        let (pat, declared) = match &node.pat {
            Pat::Type(t) => (&*t.pat, Some(&*t.ty)),
            other => (other, None),
        };
        let Pat::Ident(ident) = pat else { return };
        let name = ident.ident.to_string();
        let init = node.init.as_ref().map(|i| &*i.expr);
        let wide = declared.map_or_else(|| init.and_then(|e| self.untrusted(e)).is_some(), is_wide);
        if wide {
            self.wide.insert(name.clone());
        } else {
            // A shadowing `let len = usize::try_from(len)?` makes `len` checked from here on.
            self.wide.remove(&name);
        }
        if init.is_some_and(|e| self.is_metadata(e)) {
            self.metadata.insert(name);
        } else {
            self.metadata.remove(&name);
        }
    }

    fn visit_expr_cast(&mut self, node: &'a syn::ExprCast) {
        syn::visit::visit_expr_cast(self, node);
        let Some(target) = type_name(&node.ty) else {
            return;
        };
        if !NARROW.contains(&target.as_str()) {
            return;
        }
        if let Some(what) = self.untrusted(&node.expr) {
            self.hits.push(Hit::at(
                node.span(),
                format!("{what} is narrowed to `{target}` with `as`, which truncates it silently"),
            ));
        }
    }

    fn visit_macro(&mut self, mac: &'a syn::Macro) {
        for e in crate::syntax::macro_exprs(mac) {
            self.visit_expr(&e);
        }
    }

    fn visit_item(&mut self, _: &'a syn::Item) {}
}
