//! `uninit_status`: a status or out-parameter read before it holds the call's answer.
//!
//! Three shapes:
//! - `MaybeUninit::uninit().assume_init()` and `mem::uninitialized()`: read uninitialized.
//! - `let st = ffi(out.as_mut_ptr()); let v = out.assume_init(); if st != 0 {..}`: the
//!   out-parameter is assumed initialized before the status saying whether it was written is
//!   checked.
//! - `let mut status = 0; if a { status = f() } else { g() } if status != 0 {..}`: a status
//!   initialized to success and assigned only on some paths, so the other paths report success
//!   whatever happened.

use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Expr, Pat, Stmt};

use crate::context::FileContext;
use crate::finding::Severity;
use crate::rules::{Hit, Rule};
use crate::syntax::{last_segment, mentions, parent_segment, peel};

/// The rule.
pub const RULE: Rule = Rule {
    id: "uninit_status",
    summary: "a status or out-parameter is read before it holds the call's answer",
    why: "reading uninitialized memory is undefined behaviour, and a status that starts as \
          success reports success on every path that forgot to assign it",
    fix: "check the status before `assume_init`, initialize out-parameters (`MaybeUninit::zeroed`, \
          a default), and assign the status on every path (or start it as a failure)",
    default_severity: Severity::Error,
    check,
};

/// Names of success values that mark a status variable.
const SUCCESS_CONSTS: &[&str] = &[
    "STATUS_SUCCESS",
    "S_OK",
    "ERROR_SUCCESS",
    "NO_ERROR",
    "CUDA_SUCCESS",
    "NRT_SUCCESS",
];

/// Parts of variable names that say "this is a status".
const STATUS_NAMES: &[&str] = &[
    "status", "rc", "ret", "hr", "err", "error", "errno", "ntstatus",
];

fn check(ctx: &FileContext<'_>) -> Vec<Hit> {
    let mut v = Visitor {
        hits: Vec::new(),
        array_of_uninit: 0,
    };
    for function in &ctx.functions {
        v.visit_block(function.block);
    }
    v.hits
}

struct Visitor {
    hits: Vec<Hit>,
    /// Inside `let x: [MaybeUninit<T>; N] = ..`: `uninit().assume_init()` is the sound idiom.
    array_of_uninit: usize,
}

impl<'a> Visit<'a> for Visitor {
    fn visit_expr_method_call(&mut self, node: &'a syn::ExprMethodCall) {
        if self.array_of_uninit == 0
            && matches!(
                node.method.to_string().as_str(),
                "assume_init" | "assume_init_read"
            )
        {
            if let Expr::Call(call) = peel(&node.receiver) {
                if let Expr::Path(f) = &*call.func {
                    if matches!(
                        last_segment(&f.path).as_deref(),
                        Some("uninit" | "uninit_array")
                    ) {
                        self.hits.push(Hit::at(
                            node.span(),
                            "`MaybeUninit::uninit().assume_init()` reads uninitialized memory",
                        ));
                    }
                }
            }
        }
        syn::visit::visit_expr_method_call(self, node);
    }

    fn visit_expr_call(&mut self, node: &'a syn::ExprCall) {
        if let Expr::Path(f) = &*node.func {
            if last_segment(&f.path).as_deref() == Some("uninitialized")
                && parent_segment(&f.path).is_none_or(|p| p == "mem")
            {
                self.hits.push(Hit::at(
                    node.span(),
                    "`mem::uninitialized()` reads uninitialized memory",
                ));
            }
        }
        syn::visit::visit_expr_call(self, node);
    }

    fn visit_block(&mut self, node: &'a syn::Block) {
        self.assume_before_check(&node.stmts);
        self.success_on_some_paths(&node.stmts);
        syn::visit::visit_block(self, node);
    }

    fn visit_local(&mut self, node: &'a syn::Local) {
        let idiom = matches!(&node.pat, Pat::Type(t) if mentions(&*t.ty, "MaybeUninit"));
        self.array_of_uninit += usize::from(idiom);
        syn::visit::visit_local(self, node);
        self.array_of_uninit -= usize::from(idiom);
    }

    fn visit_item(&mut self, _: &'a syn::Item) {}
}

/// Whether `init` is a call that fills `out` through an argument and returns a status that
/// is not already checked in place (`?`): `let rc = ffi(out.as_mut_ptr());`.
fn fills(init: &Expr, out: &str) -> bool {
    let init = peel(init);
    let args = match init {
        Expr::Call(c) => &c.args,
        _ => return false,
    };
    let has_try = crate::syntax::Exits::of(init).iter().len() > 0;
    !has_try && args.iter().any(|a| mentions(a, out))
}

fn local_name(stmt: &Stmt) -> Option<(String, Option<&Expr>)> {
    let Stmt::Local(local) = stmt else {
        return None;
    };
    let pat = match &local.pat {
        Pat::Type(t) => &*t.pat,
        other => other,
    };
    let Pat::Ident(p) = pat else { return None };
    Some((p.ident.to_string(), local.init.as_ref().map(|i| &*i.expr)))
}

fn is_maybe_uninit_new(e: &Expr) -> bool {
    let Expr::Call(call) = peel(e) else {
        return false;
    };
    let Expr::Path(f) = &*call.func else {
        return false;
    };
    last_segment(&f.path).as_deref() == Some("uninit")
        && f.path.segments.iter().any(|s| s.ident == "MaybeUninit")
}

/// Whether `stmt` checks `status`: a condition (`if`, `match`, `while`) or assertion mentioning it.
fn checks(stmt: &Stmt, status: &str) -> bool {
    let expr = match stmt {
        Stmt::Expr(e, _) => e,
        Stmt::Local(l) => match &l.init {
            Some(init) => &init.expr,
            None => return false,
        },
        Stmt::Macro(m) => return mentions(&m.mac, status),
        Stmt::Item(_) => return false,
    };
    match peel(expr) {
        Expr::If(i) => mentions(&*i.cond, status),
        Expr::Match(m) => mentions(&*m.expr, status),
        Expr::Macro(m) => mentions(&m.mac, status),
        Expr::Return(_) | Expr::Call(_) | Expr::MethodCall(_) | Expr::Try(_) => {
            mentions(expr, status)
        }
        _ => false,
    }
}

impl Visitor {
    fn assume_before_check(&mut self, stmts: &[Stmt]) {
        for (i, stmt) in stmts.iter().enumerate() {
            let Some((out, Some(init))) = local_name(stmt) else {
                continue;
            };
            if !is_maybe_uninit_new(init) {
                continue;
            }
            // The call that fills `out` and binds its status.
            let Some((j, status)) = stmts.iter().enumerate().skip(i + 1).find_map(|(j, s)| {
                let (status, init) = local_name(s)?;
                (init.is_some_and(|e| fills(e, &out)) && status != out).then_some((j, status))
            }) else {
                continue;
            };
            for later in &stmts[j + 1..] {
                if checks(later, &status) {
                    break;
                }
                if let Some(span) = assume_init_of(later, &out) {
                    self.hits.push(Hit::at(
                        span,
                        format!("`{out}.assume_init()` runs before `{status}` (the status of the call that fills `{out}`) is checked"),
                    ));
                    break;
                }
            }
        }
    }

    fn success_on_some_paths(&mut self, stmts: &[Stmt]) {
        for (i, stmt) in stmts.iter().enumerate() {
            let Stmt::Local(local) = stmt else { continue };
            let Pat::Ident(p) = &local.pat else { continue };
            if p.mutability.is_none() {
                continue;
            }
            let Some(init) = &local.init else { continue };
            let name = p.ident.to_string();
            if !is_success(&init.expr, &name) {
                continue;
            }
            let mut paths = Assigned::None;
            for later in &stmts[i + 1..] {
                if checks(later, &name) && !assigns_directly(later, &name) {
                    if paths == Assigned::Some {
                        self.hits.push(Hit::at(
                            p.ident.span(),
                            format!("`{name}` starts as success and is assigned only on some paths before it is checked"),
                        ));
                    }
                    break;
                }
                match assigned(later, &name) {
                    Assigned::All => break,
                    Assigned::Some => paths = Assigned::Some,
                    Assigned::None => {}
                }
            }
        }
    }
}

fn is_success(e: &Expr, name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let status_like = STATUS_NAMES
        .iter()
        .any(|s| lower == *s || lower.split('_').any(|part| part == *s));
    match peel(e) {
        Expr::Lit(lit) => {
            status_like && matches!(&lit.lit, syn::Lit::Int(i) if i.base10_digits() == "0")
        }
        Expr::Path(p) => {
            last_segment(&p.path).is_some_and(|n| SUCCESS_CONSTS.contains(&n.as_str()))
        }
        Expr::Call(c) => {
            status_like
                && matches!(&*c.func, Expr::Path(p) if p.path.is_ident("Ok"))
                && c.args.len() == 1
                && matches!(&c.args[0], Expr::Tuple(t) if t.elems.is_empty())
        }
        _ => false,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Assigned {
    /// No path assigns.
    None,
    /// Some paths assign, some do not.
    Some,
    /// Every path assigns (or the variable is handed out by `&mut`, which we trust).
    All,
}

fn assigns_directly(stmt: &Stmt, name: &str) -> bool {
    matches!(stmt, Stmt::Expr(Expr::Assign(a), _) if matches!(&*a.left, Expr::Path(p) if p.path.is_ident(name)))
}

fn assigned(stmt: &Stmt, name: &str) -> Assigned {
    match stmt {
        Stmt::Expr(e, _) => assigned_expr(e, name),
        Stmt::Local(l) => l
            .init
            .as_ref()
            .map_or(Assigned::None, |i| assigned_expr(&i.expr, name)),
        Stmt::Macro(_) | Stmt::Item(_) => Assigned::None,
    }
}

fn assigned_block(block: &syn::Block, name: &str) -> Assigned {
    let mut result = Assigned::None;
    for stmt in &block.stmts {
        match assigned(stmt, name) {
            Assigned::All => return Assigned::All,
            Assigned::Some => result = Assigned::Some,
            Assigned::None => {}
        }
    }
    result
}

fn assigned_expr(e: &Expr, name: &str) -> Assigned {
    match peel(e) {
        Expr::Assign(a) if matches!(&*a.left, Expr::Path(p) if p.path.is_ident(name)) => {
            Assigned::All
        }
        Expr::Reference(r)
            if r.mutability.is_some()
                && matches!(peel(&r.expr), Expr::Path(p) if p.path.is_ident(name)) =>
        {
            Assigned::All
        }
        Expr::If(i) => {
            let then = assigned_block(&i.then_branch, name);
            let els = i
                .else_branch
                .as_ref()
                .map_or(Assigned::None, |(_, e)| assigned_expr(e, name));
            match (then, els) {
                (Assigned::All, Assigned::All) => Assigned::All,
                (Assigned::None, Assigned::None) => Assigned::None,
                _ => Assigned::Some,
            }
        }
        Expr::Match(m) => {
            let arms: Vec<Assigned> = m
                .arms
                .iter()
                .map(|a| assigned_expr(&a.body, name))
                .collect();
            if arms.iter().all(|a| *a == Assigned::All) && !arms.is_empty() {
                Assigned::All
            } else if arms.iter().all(|a| *a == Assigned::None) {
                Assigned::None
            } else {
                Assigned::Some
            }
        }
        Expr::Block(b) => assigned_block(&b.block, name),
        Expr::Unsafe(u) => assigned_block(&u.block, name),
        Expr::Loop(_) | Expr::While(_) | Expr::ForLoop(_) => {
            if mentions(e, name) {
                Assigned::Some
            } else {
                Assigned::None
            }
        }
        other => {
            // `ffi(&mut status)` anywhere inside: the callee writes it.
            let mut finder = MutRef { name, found: false };
            finder.visit_expr(other);
            if finder.found {
                Assigned::All
            } else {
                Assigned::None
            }
        }
    }
}

struct MutRef<'n> {
    name: &'n str,
    found: bool,
}

impl<'a> Visit<'a> for MutRef<'_> {
    fn visit_expr_reference(&mut self, node: &'a syn::ExprReference) {
        if node.mutability.is_some()
            && matches!(peel(&node.expr), Expr::Path(p) if p.path.is_ident(self.name))
        {
            self.found = true;
        }
        syn::visit::visit_expr_reference(self, node);
    }
    fn visit_expr_assign(&mut self, node: &'a syn::ExprAssign) {
        if matches!(&*node.left, Expr::Path(p) if p.path.is_ident(self.name)) {
            self.found = true;
        }
        syn::visit::visit_expr_assign(self, node);
    }
}

/// The span of `out.assume_init()` in `stmt`, if it is there.
fn assume_init_of(stmt: &Stmt, out: &str) -> Option<proc_macro2::Span> {
    struct Finder<'o> {
        out: &'o str,
        found: Option<proc_macro2::Span>,
    }
    impl<'a> Visit<'a> for Finder<'_> {
        fn visit_expr_method_call(&mut self, node: &'a syn::ExprMethodCall) {
            if self.found.is_none()
                && matches!(
                    node.method.to_string().as_str(),
                    "assume_init" | "assume_init_read" | "assume_init_ref"
                )
                && matches!(peel(&node.receiver), Expr::Path(p) if p.path.is_ident(self.out))
            {
                self.found = Some(node.span());
            }
            syn::visit::visit_expr_method_call(self, node);
        }
    }
    let mut finder = Finder { out, found: None };
    finder.visit_stmt(stmt);
    finder.found
}
