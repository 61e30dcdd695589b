//! `lock_in_drop`: `Drop::drop` locking a `Mutex` / `RwLock` that `self` owns directly.
//!
//! The field's type comes from the struct declaration in the same file. A lock held through
//! `Arc` (shared with other owners) is not flagged: there the lock is needed.

use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Expr, Type};

use crate::context::FileContext;
use crate::finding::Severity;
use crate::rules::{Hit, Rule};
use crate::syntax::{peel, type_name};

/// The rule.
pub const RULE: Rule = Rule {
    id: "lock_in_drop",
    summary: "`Drop::drop` locks a mutex or rwlock that `self` owns",
    why: "`drop(&mut self)` already has exclusive access: the lock is dead weight, it panics or \
          skips cleanup when the lock is poisoned, and it deadlocks if the value is dropped while \
          the same lock is held (a guard living in the same scope)",
    fix: "use `self.field.get_mut()` (and handle poisoning with `unwrap_or_else(PoisonError::into_inner)`), \
          which needs no locking",
    default_severity: Severity::Error,
    check,
};

const LOCKS: &[&str] = &["Mutex", "RwLock", "ReentrantMutex", "FairMutex"];

fn is_owned_lock(ty: &Type) -> bool {
    match ty {
        Type::Path(_) => type_name(ty).is_some_and(|n| LOCKS.contains(&n.as_str())),
        Type::Paren(p) => is_owned_lock(&p.elem),
        _ => false,
    }
}

fn check(ctx: &FileContext<'_>) -> Vec<Hit> {
    let mut hits = Vec::new();
    for function in &ctx.functions {
        if function.trait_name.as_deref() != Some("Drop") || function.name != "drop" {
            continue;
        }
        let Some(self_ty) = &function.self_ty else {
            continue;
        };
        let mut finder = Locks {
            ctx,
            self_ty,
            hits: Vec::new(),
        };
        finder.visit_block(function.block);
        hits.append(&mut finder.hits);
    }
    hits
}

struct Locks<'c, 'a> {
    ctx: &'c FileContext<'a>,
    self_ty: &'c str,
    hits: Vec<Hit>,
}

impl<'a> Visit<'a> for Locks<'_, '_> {
    fn visit_expr_method_call(&mut self, node: &'a syn::ExprMethodCall) {
        let method = node.method.to_string();
        if matches!(
            method.as_str(),
            "lock" | "read" | "write" | "try_lock" | "try_read" | "try_write"
        ) && node.args.is_empty()
        {
            if let Expr::Field(field) = peel(&node.receiver) {
                let is_self = matches!(peel(&field.base), Expr::Path(p) if p.path.is_ident("self"));
                let member = match &field.member {
                    syn::Member::Named(i) => i.to_string(),
                    syn::Member::Unnamed(i) => i.index.to_string(),
                };
                if is_self
                    && self
                        .ctx
                        .field_type(self.self_ty, &member)
                        .is_some_and(is_owned_lock)
                {
                    self.hits.push(Hit::between(
                        node.receiver.span(),
                        node.span(),
                        format!(
                            "`drop` calls `self.{member}.{method}()` on a lock that `self` owns"
                        ),
                    ));
                }
            }
        }
        syn::visit::visit_expr_method_call(self, node);
    }
}
