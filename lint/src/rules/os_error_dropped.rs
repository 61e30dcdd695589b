//! `os_error_dropped`: a branch that detects a failed OS call and returns an error without the
//! OS error.
//!
//! The failure check is recognised by shape: `x < 0`, `x == -1`, `x == 0`, `x.is_null()`,
//! `x == INVALID_HANDLE_VALUE` / `MAP_FAILED` / `FALSE`, where `x` is bound from an FFI call (a
//! call inside `unsafe`, or a Win32 function) just before, or the call is in the condition
//! itself; also `match ffi(..) { -1 => Err(..), .. }`. The branch is flagged when it returns an
//! `Err` (or `bail!`s) and nothing in it reads the OS error (`last_os_error`, `errno`,
//! `GetLastError`, `from_raw_os_error`, `Errno::last`, an `os_error!`-style macro, or a variable
//! that captured one).

use proc_macro2::Span;
use quote::ToTokens;
use syn::visit::Visit;
use syn::{BinOp, Expr, Pat, Stmt};

use crate::context::FileContext;
use crate::finding::Severity;
use crate::rules::{Hit, Rule};
use crate::syntax::{
    is_capitalized, is_win32_function, is_win32_module, last_segment, macro_name, mentions,
    parent_segment, peel, tokens_any_ident,
};

/// The rule.
pub const RULE: Rule = Rule {
    id: "os_error_dropped",
    summary: "a failed OS call is turned into an error that does not carry the OS error",
    why: "\"open failed\" without ENOENT / EACCES / ERROR_SHARING_VIOLATION cannot be diagnosed \
          from a report, and the OS error is gone by the time anyone asks",
    fix: "build the error from `io::Error::last_os_error()` (captured first thing in the branch) \
          and add the operation and path as context",
    default_severity: Severity::Warning,
    check,
};

/// Whether an identifier reads or carries the OS error.
fn is_os_error_ident(ident: &str) -> bool {
    let lower = ident.to_ascii_lowercase();
    lower.contains("os_error")
        || lower.contains("oserror")
        || lower.contains("errno")
        || lower.contains("lasterror")
        || lower.contains("last_error")
        || lower.contains("os_err")
        || lower.contains("last_os")
        || lower.contains("dlerror")
        || lower == "last"
}

fn check(ctx: &FileContext<'_>) -> Vec<Hit> {
    let mut hits = Vec::new();
    for function in &ctx.functions {
        let mut blocks = BlockVisitor {
            in_unsafe: function.sig.unsafety.is_some(),
            hits: &mut hits,
        };
        blocks.visit_block(function.block);
    }
    hits
}

struct BlockVisitor<'h> {
    in_unsafe: bool,
    hits: &'h mut Vec<Hit>,
}

impl<'a> Visit<'a> for BlockVisitor<'_> {
    fn visit_block(&mut self, node: &'a syn::Block) {
        check_block(&node.stmts, self.in_unsafe, self.hits);
        syn::visit::visit_block(self, node);
    }
    fn visit_expr_unsafe(&mut self, node: &'a syn::ExprUnsafe) {
        let saved = self.in_unsafe;
        self.in_unsafe = true;
        syn::visit::visit_expr_unsafe(self, node);
        self.in_unsafe = saved;
    }
    fn visit_item(&mut self, _: &'a syn::Item) {}
}

fn check_block(stmts: &[Stmt], fn_unsafe: bool, hits: &mut Vec<Hit>) {
    // Names bound from an OS-error read (`let err = io::Error::last_os_error();`).
    let mut captured: Vec<String> = Vec::new();
    for (k, stmt) in stmts.iter().enumerate() {
        if let Stmt::Local(l) = stmt {
            if l.init
                .as_ref()
                .is_some_and(|i| tokens_any_ident(i.expr.to_token_stream(), &is_os_error_ident))
            {
                if let Pat::Ident(p) = &l.pat {
                    captured.push(p.ident.to_string());
                }
            }
        }
        let expr = match stmt {
            Stmt::Expr(e, _) => e,
            Stmt::Local(l) => match &l.init {
                Some(init) => &init.expr,
                None => continue,
            },
            _ => continue,
        };
        match peel(expr) {
            Expr::If(i) => {
                let Some((call, variable)) = failure_check(&i.cond, &stmts[..k], fn_unsafe) else {
                    continue;
                };
                // `if hr < 0 { return Err(hr) }`: the status is the OS error.
                let carried: Vec<String> = captured.iter().cloned().chain(variable).collect();
                if let Some(span) = error_without_os_error(
                    &i.then_branch.to_token_stream(),
                    &i.then_branch,
                    &carried,
                ) {
                    hits.push(hit(span, &call));
                }
            }
            Expr::Match(m) => {
                let Some(call) = os_call_in(&m.expr, fn_unsafe)
                    .or_else(|| bound_from_os_call(&m.expr, &stmts[..k], fn_unsafe))
                else {
                    continue;
                };
                for arm in &m.arms {
                    if !is_failure_pattern(&arm.pat) {
                        continue;
                    }
                    let block = syn::Block {
                        brace_token: Default::default(),
                        stmts: vec![Stmt::Expr((*arm.body).clone(), None)],
                    };
                    if let Some(span) =
                        error_without_os_error(&arm.body.to_token_stream(), &block, &captured)
                    {
                        hits.push(hit(span, &call));
                    }
                }
            }
            _ => {}
        }
    }
}

fn hit(span: Span, call: &str) -> Hit {
    Hit::at(
        span,
        format!(
            "this branch handles a failed `{call}` but returns an error that does not carry the OS error"
        ),
    )
}

/// If `cond` tests the result of an OS call, the call's name.
fn failure_check(
    cond: &Expr,
    before: &[Stmt],
    fn_unsafe: bool,
) -> Option<(String, Option<String>)> {
    let tested = match peel(cond) {
        Expr::Binary(b) => match b.op {
            BinOp::Eq(_) | BinOp::Ne(_) | BinOp::Lt(_) | BinOp::Le(_) => {
                if is_failure_value(&b.right) {
                    &*b.left
                } else if is_failure_value(&b.left) {
                    &*b.right
                } else {
                    return None;
                }
            }
            _ => return None,
        },
        Expr::MethodCall(m) if m.method == "is_null" && m.args.is_empty() => &*m.receiver,
        _ => return None,
    };
    let variable = match peel(tested) {
        Expr::Path(p) => p.path.get_ident().map(ToString::to_string),
        _ => None,
    };
    os_call_in(tested, fn_unsafe)
        .or_else(|| bound_from_os_call(tested, before, fn_unsafe))
        .map(|call| (call, variable))
}

/// `0`, `-1`, `INVALID_HANDLE_VALUE`, `MAP_FAILED`, `FALSE`, `null_mut()`, `ptr::null()`.
fn is_failure_value(e: &Expr) -> bool {
    match peel(e) {
        // `-1` in a pattern parses as one negative literal.
        Expr::Lit(l) => {
            matches!(&l.lit, syn::Lit::Int(i) if matches!(i.base10_digits(), "0" | "-1"))
        }
        Expr::Unary(u) if matches!(u.op, syn::UnOp::Neg(_)) => {
            matches!(peel(&u.expr), Expr::Lit(l) if matches!(&l.lit, syn::Lit::Int(i) if i.base10_digits() == "1"))
        }
        Expr::Path(p) => matches!(
            last_segment(&p.path).as_deref(),
            Some(
                "INVALID_HANDLE_VALUE"
                    | "MAP_FAILED"
                    | "FALSE"
                    | "NULL"
                    | "INVALID_SOCKET"
                    | "SOCKET_ERROR"
            )
        ),
        Expr::Call(c) => {
            matches!(&*c.func, Expr::Path(p) if matches!(last_segment(&p.path).as_deref(), Some("null" | "null_mut")))
        }
        Expr::Cast(c) => is_failure_value(&c.expr),
        _ => false,
    }
}

fn is_failure_pattern(pat: &Pat) -> bool {
    match pat {
        Pat::Lit(l) => is_failure_value(&Expr::Lit(l.clone())),
        Pat::Path(p) => is_failure_value(&Expr::Path(p.clone())),
        Pat::Or(o) => o.cases.iter().any(is_failure_pattern),
        _ => false,
    }
}

/// The variable `tested` was bound from an OS call in one of the statements `before`.
fn bound_from_os_call(tested: &Expr, before: &[Stmt], fn_unsafe: bool) -> Option<String> {
    let Expr::Path(p) = peel(tested) else {
        return None;
    };
    let name = p.path.get_ident()?.to_string();
    before.iter().rev().find_map(|s| match s {
        Stmt::Local(l) if mentions(&l.pat, &name) => {
            Some(l.init.as_ref().and_then(|i| os_call_in(&i.expr, fn_unsafe)))
        }
        _ => None,
    })?
}

/// The name of the first FFI call in `e`: inside `unsafe` (or an `unsafe fn`), a free function
/// or module path (not `Type::method`), or any Win32-style function.
fn os_call_in(e: &Expr, fn_unsafe: bool) -> Option<String> {
    struct Finder {
        in_unsafe: bool,
        found: Option<String>,
    }
    impl<'a> Visit<'a> for Finder {
        fn visit_expr_unsafe(&mut self, node: &'a syn::ExprUnsafe) {
            let saved = self.in_unsafe;
            self.in_unsafe = true;
            syn::visit::visit_expr_unsafe(self, node);
            self.in_unsafe = saved;
        }
        fn visit_expr_call(&mut self, node: &'a syn::ExprCall) {
            if self.found.is_none() {
                if let Expr::Path(f) = &*node.func {
                    let name = last_segment(&f.path).unwrap_or_default();
                    let module_path = parent_segment(&f.path)
                        .is_none_or(|p| !is_capitalized(&p) || is_win32_module(&p));
                    let ffi_name = !is_capitalized(&name) || is_win32_function(&name);
                    if self.in_unsafe
                        && module_path
                        && ffi_name
                        && !matches!(name.as_str(), "null" | "null_mut" | "size_of" | "zeroed")
                    {
                        self.found = Some(name);
                    }
                }
            }
            syn::visit::visit_expr_call(self, node);
        }
        fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
    }
    let mut finder = Finder {
        in_unsafe: fn_unsafe,
        found: None,
    };
    finder.visit_expr(e);
    finder.found
}

/// If the branch returns an error (`return Err(..)`, a tail `Err(..)`, `bail!`) and nothing in
/// it reads the OS error, where it returns.
fn error_without_os_error(
    tokens: &proc_macro2::TokenStream,
    block: &syn::Block,
    captured: &[String],
) -> Option<Span> {
    if tokens_any_ident(tokens.clone(), &is_os_error_ident)
        || captured
            .iter()
            .any(|c| crate::syntax::tokens_mention(tokens.clone(), c))
    {
        return None;
    }
    let mut finder = ErrReturn { found: None };
    finder.visit_block(block);
    if finder.found.is_some() {
        return finder.found;
    }
    // A tail `Err(..)`.
    match block.stmts.last() {
        Some(Stmt::Expr(e, None)) => match peel(e) {
            Expr::Call(c) if matches!(&*c.func, Expr::Path(p) if p.path.is_ident("Err")) => {
                Some(match &*c.func {
                    Expr::Path(p) => p.path.segments[0].ident.span(),
                    _ => Span::call_site(),
                })
            }
            _ => None,
        },
        _ => None,
    }
}

struct ErrReturn {
    found: Option<Span>,
}

impl<'a> Visit<'a> for ErrReturn {
    fn visit_expr_return(&mut self, node: &'a syn::ExprReturn) {
        if self.found.is_none()
            && node
                .expr
                .as_ref()
                .is_some_and(|e| crate::syntax::mentions(&**e, "Err"))
        {
            self.found = Some(node.return_token.span);
        }
        syn::visit::visit_expr_return(self, node);
    }
    fn visit_macro(&mut self, mac: &'a syn::Macro) {
        if self.found.is_none() && matches!(macro_name(mac).as_str(), "bail") {
            self.found = mac.path.segments.last().map(|s| s.ident.span());
        }
    }
    fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
    fn visit_item(&mut self, _: &'a syn::Item) {}
}
