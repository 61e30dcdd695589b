//! `double_lifecycle`: the same init (or deinit) call made from two methods of one type.
//!
//! Init and deinit calls are recognised by name, word by word: `init`, `initialize`, `startup`
//! (`cuInit`, `backend_init`, `CoInitializeEx`, `WSAStartup`) and `deinit`, `uninit`,
//! `shutdown`, `cleanup`, `teardown`, `finalize`, `destroy`, `terminate`. Flagged: the same call
//! (same callee text) in two functions of one type where one is a public method or `Drop::drop`
//! and they are not both constructors. Calls on `self` itself (delegation to the type's own
//! method), calls in closures (`Once::call_once`) and calls guarded by a condition on `self`
//! (`if !self.initialized`, `if let Some(x) = self.x.take()`) are not flagged.

use std::collections::HashMap;

use proc_macro2::Span;
use syn::visit::Visit;
use syn::{Expr, ReturnType};

use crate::context::{FileContext, Function};
use crate::finding::Severity;
use crate::rules::{Hit, Rule};
use crate::syntax::{is_win32_module, last_segment, mentions, peel, text, type_name};

/// The rule.
pub const RULE: Rule = Rule {
    id: "double_lifecycle",
    summary: "the same init or deinit call is made from two methods of one type",
    why: "a library initialized in the constructor and again in a public method (or shut down in \
          `Drop` and in a public `close`) is initialized or freed twice on one instance: leaked \
          contexts, double frees, or a shutdown of someone else's state",
    fix: "give each lifecycle call one home: init in the constructor, deinit in `Drop`; make \
          `close(self)` consume the value and let `Drop` do the work, or guard with a state flag",
    default_severity: Severity::Error,
    check,
};

const INIT_WORDS: &[&str] = &["init", "initialize", "startup"];
const DEINIT_WORDS: &[&str] = &[
    "deinit",
    "uninit",
    "uninitialize",
    "shutdown",
    "cleanup",
    "teardown",
    "finalize",
    "destroy",
    "terminate",
];
const QUERY_WORDS: &[&str] = &[
    "is", "get", "or", "has", "was", "ensure", "lazy", "once", "assume",
];

/// Splits `CoInitializeEx` / `backend_init` / `cuInit` into lowercase words.
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if c == '_' {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// `Some("init")` or `Some("deinit")` when a callee name is a lifecycle call.
fn lifecycle(name: &str) -> Option<&'static str> {
    let words = words(name);
    if words.iter().any(|w| QUERY_WORDS.contains(&w.as_str())) {
        return None;
    }
    if words.iter().any(|w| DEINIT_WORDS.contains(&w.as_str())) {
        Some("deinit")
    } else if words.iter().any(|w| INIT_WORDS.contains(&w.as_str())) {
        Some("init")
    } else {
        None
    }
}

struct Site {
    callee: String,
    kind: &'static str,
    function: usize,
    span: Span,
}

fn is_constructor(f: &Function<'_>) -> bool {
    let has_self = f
        .sig
        .inputs
        .iter()
        .any(|i| matches!(i, syn::FnArg::Receiver(_)));
    let returns_self = match &f.sig.output {
        ReturnType::Type(_, ty) => {
            let t = text(&**ty);
            t.contains("Self")
                || f.self_ty
                    .as_ref()
                    .is_some_and(|s| type_name(ty).as_deref() == Some(s) || t.contains(s.as_str()))
        }
        ReturnType::Default => false,
    };
    !has_self && returns_self
}

fn consumes_self_and_forgets(f: &Function<'_>) -> bool {
    let by_value = f
        .sig
        .inputs
        .iter()
        .any(|i| matches!(i, syn::FnArg::Receiver(r) if r.reference.is_none()));
    by_value && (mentions(f.block, "forget") || mentions(f.block, "ManuallyDrop"))
}

fn check(ctx: &FileContext<'_>) -> Vec<Hit> {
    let mut by_type: HashMap<&str, Vec<Site>> = HashMap::new();
    for (index, function) in ctx.functions.iter().enumerate() {
        let Some(ty) = &function.self_ty else {
            continue;
        };
        if function.trait_name.is_some() && function.trait_name.as_deref() != Some("Drop") {
            continue;
        }
        if consumes_self_and_forgets(function) {
            continue;
        }
        let mut finder = Calls {
            guarded: 0,
            sites: Vec::new(),
            function: index,
        };
        finder.visit_block(function.block);
        by_type.entry(ty.as_str()).or_default().extend(finder.sites);
    }
    let mut hits = Vec::new();
    let mut types: Vec<_> = by_type.into_iter().collect();
    types.sort_by(|a, b| a.0.cmp(b.0));
    for (ty, mut sites) in types {
        sites.sort_by_key(|s| (s.span.start().line, s.span.start().column));
        for (i, site) in sites.iter().enumerate() {
            let here = &ctx.functions[site.function];
            let earlier = sites[..i].iter().find(|other| {
                let there = &ctx.functions[other.function];
                other.callee == site.callee
                    && other.function != site.function
                    && there.cfg == here.cfg
                    && !(is_constructor(here) && is_constructor(there))
                    && [here, there]
                        .iter()
                        .any(|f| !is_constructor(f) && (f.is_pub || f.trait_name.is_some()))
            });
            if let Some(other) = earlier {
                let there = &ctx.functions[other.function];
                hits.push(Hit::at(
                    site.span,
                    format!(
                        "`{}` ({}) is called from both `{}::{}` (line {}) and `{}::{}`: one instance can {} twice",
                        site.callee,
                        site.kind,
                        ty,
                        there.name,
                        other.span.start().line,
                        ty,
                        here.name,
                        site.kind,
                    ),
                ));
            }
        }
    }
    hits
}

struct Calls {
    guarded: usize,
    sites: Vec<Site>,
    function: usize,
}

impl Calls {
    fn record(&mut self, callee: String, name: &str, span: Span) {
        if self.guarded > 0 || callee.contains("MaybeUninit") {
            return;
        }
        if let Some(kind) = lifecycle(name) {
            self.sites.push(Site {
                callee,
                kind,
                function: self.function,
                span,
            });
        }
    }
}

impl<'a> Visit<'a> for Calls {
    fn visit_expr_if(&mut self, node: &'a syn::ExprIf) {
        let guard = mentions(&*node.cond, "self") || mentions(&*node.cond, "take");
        self.guarded += usize::from(guard);
        syn::visit::visit_expr_if(self, node);
        self.guarded -= usize::from(guard);
    }
    fn visit_expr_match(&mut self, node: &'a syn::ExprMatch) {
        let guard = mentions(&*node.expr, "self");
        self.guarded += usize::from(guard);
        syn::visit::visit_expr_match(self, node);
        self.guarded -= usize::from(guard);
    }
    fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
    fn visit_item(&mut self, _: &'a syn::Item) {}
    fn visit_expr_call(&mut self, node: &'a syn::ExprCall) {
        if let Expr::Path(f) = &*node.func {
            // Free functions (`nrt_init`, `ffi::cuInit`, `CoInitializeEx`) act on global or
            // library state; `Block::destroy(b)` / `Self::init(x)` act on their argument.
            let parent = crate::syntax::parent_segment(&f.path);
            let free = parent
                .as_deref()
                .is_none_or(|p| !crate::syntax::is_capitalized(p) || is_win32_module(p));
            if let Some(name) = last_segment(&f.path).filter(|_| free) {
                let span = f
                    .path
                    .segments
                    .last()
                    .map_or_else(Span::call_site, |s| s.ident.span());
                self.record(text(&f.path).replace(' ', ""), &name, span);
            }
        }
        syn::visit::visit_expr_call(self, node);
    }
    fn visit_expr_method_call(&mut self, node: &'a syn::ExprMethodCall) {
        // Only a field of `self` is state of this instance: `self.ctx.shutdown()`. Calls on
        // `self` itself delegate to the type's own method; calls on locals act on other values.
        let on_field = matches!(peel(&node.receiver), Expr::Field(f) if matches!(peel(&f.base), Expr::Path(p) if p.path.is_ident("self")));
        if on_field {
            let callee = format!("{}.{}", text(&*node.receiver).replace(' ', ""), node.method);
            self.record(callee, &node.method.to_string(), node.method.span());
        }
        syn::visit::visit_expr_method_call(self, node);
    }
}
