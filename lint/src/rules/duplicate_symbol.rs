//! `duplicate_symbol`: the same symbol resolved twice from the same library in one function or
//! one `impl`.
//!
//! Loads: `lib.get(b"name\0")` / `lib.get::<T>(c"name")` (libloading; byte- or C-string
//! literals only, so `HashMap::get("k")` is not mistaken for one), `dlsym(handle, ..)` and
//! `GetProcAddress(module, ..)` with a literal name (also inside `s!(..)` / `c"…"`). Two loads
//! count as the same when the library expression and the name match and they sit under the same
//! `cfg` predicates: a `#[cfg(unix)]` and a `#[cfg(windows)]` load of one name are two builds.

use std::collections::HashMap;

use proc_macro2::Span;
use syn::visit::Visit;
use syn::{Attribute, Expr};

use crate::context::FileContext;
use crate::finding::Severity;
use crate::rules::{Hit, Rule};
use crate::syntax::{cfg_of, first_string_literal, last_segment, text};

/// The rule.
pub const RULE: Rule = Rule {
    id: "duplicate_symbol",
    summary: "the same symbol is resolved twice from the same library",
    why: "two resolutions of one symbol drift apart (one gets a signature fix, the other does not) \
          and cost a lookup each; in an API table the second entry hides the first",
    fix: "resolve each symbol once, into a typed table of function pointers built when the library \
          is opened (`loadguard_macros`' API tables), and use that",
    default_severity: Severity::Warning,
    check,
};

/// One symbol load.
struct Load {
    library: String,
    symbol: String,
    cfg: String,
    span: Span,
}

fn check(ctx: &FileContext<'_>) -> Vec<Hit> {
    let mut hits = Vec::new();
    // (impl type) → loads of all its methods, with the method they are in.
    let mut per_impl: HashMap<String, Vec<(String, Load)>> = HashMap::new();
    for function in &ctx.functions {
        let mut finder = Loads {
            cfg: vec![function.cfg.clone()],
            loads: Vec::new(),
        };
        finder.visit_block(function.block);
        let mut seen: Vec<&Load> = Vec::new();
        for load in &finder.loads {
            if let Some(first) = seen.iter().find(|s| same(s, load)) {
                hits.push(duplicate(load, first.span.start().line));
            } else {
                seen.push(load);
            }
        }
        if let Some(ty) = &function.self_ty {
            let entry = per_impl.entry(ty.clone()).or_default();
            for load in finder.loads {
                entry.push((function.name.clone(), load));
            }
        }
    }
    let mut types: Vec<_> = per_impl.into_iter().collect();
    types.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, loads) in types {
        for (i, (function, load)) in loads.iter().enumerate() {
            // Only across methods: within one method it was reported above.
            if let Some((_, first)) = loads[..i]
                .iter()
                .find(|(f, l)| f != function && same(l, load))
            {
                if !loads[..i]
                    .iter()
                    .any(|(f, l)| f == function && same(l, load))
                {
                    hits.push(duplicate(load, first.span.start().line));
                }
            }
        }
    }
    hits
}

fn same(a: &Load, b: &Load) -> bool {
    a.library == b.library && a.symbol == b.symbol && a.cfg == b.cfg
}

fn duplicate(load: &Load, first_line: usize) -> Hit {
    Hit::at(
        load.span,
        format!(
            "symbol `{}` is resolved again from `{}` (first resolved on line {first_line})",
            load.symbol, load.library
        ),
    )
}

struct Loads {
    cfg: Vec<String>,
    loads: Vec<Load>,
}

impl Loads {
    fn with_cfg(&mut self, attrs: &[Attribute], f: impl FnOnce(&mut Self)) {
        let own = cfg_of(attrs);
        if own.is_empty() {
            f(self);
        } else {
            self.cfg.push(own);
            f(self);
            self.cfg.pop();
        }
    }

    fn push(&mut self, library: String, symbol: String, span: Span) {
        let cfg = self
            .cfg
            .iter()
            .filter(|c| !c.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join(" & ");
        self.loads.push(Load {
            library,
            symbol,
            cfg,
            span,
        });
    }
}

fn is_symbol_literal(e: &Expr) -> bool {
    fn lit(e: &Expr) -> bool {
        match e {
            Expr::Lit(l) => matches!(l.lit, syn::Lit::ByteStr(_) | syn::Lit::CStr(_)),
            Expr::Reference(r) => lit(&r.expr),
            Expr::MethodCall(m) => lit(&m.receiver),
            Expr::Paren(p) => lit(&p.expr),
            _ => false,
        }
    }
    lit(e)
}

impl<'a> Visit<'a> for Loads {
    fn visit_local(&mut self, node: &'a syn::Local) {
        self.with_cfg(&node.attrs, |s| syn::visit::visit_local(s, node));
    }
    fn visit_expr_block(&mut self, node: &'a syn::ExprBlock) {
        self.with_cfg(&node.attrs, |s| syn::visit::visit_expr_block(s, node));
    }
    fn visit_expr_unsafe(&mut self, node: &'a syn::ExprUnsafe) {
        self.with_cfg(&node.attrs, |s| syn::visit::visit_expr_unsafe(s, node));
    }
    fn visit_expr_if(&mut self, node: &'a syn::ExprIf) {
        self.with_cfg(&node.attrs, |s| syn::visit::visit_expr_if(s, node));
    }
    fn visit_stmt_macro(&mut self, node: &'a syn::StmtMacro) {
        self.with_cfg(&node.attrs, |s| syn::visit::visit_stmt_macro(s, node));
    }
    fn visit_expr_method_call(&mut self, node: &'a syn::ExprMethodCall) {
        self.with_cfg(&node.attrs, |s| {
            if node.method == "get" || node.method == "get_unchecked" {
                if let Some(arg) = node.args.first() {
                    if is_symbol_literal(arg) {
                        if let Some(symbol) = first_string_literal(arg) {
                            s.push(text(&*node.receiver), symbol, node.method.span());
                        }
                    }
                }
            }
            syn::visit::visit_expr_method_call(s, node);
        });
    }
    fn visit_expr_call(&mut self, node: &'a syn::ExprCall) {
        self.with_cfg(&node.attrs, |s| {
            if let Expr::Path(f) = &*node.func {
                let name = last_segment(&f.path).unwrap_or_default();
                if matches!(name.as_str(), "dlsym" | "dlvsym" | "GetProcAddress")
                    && node.args.len() >= 2
                {
                    let library = text(&node.args[0]);
                    if let Some(symbol) = node.args.iter().skip(1).find_map(first_string_literal) {
                        let span = f
                            .path
                            .segments
                            .last()
                            .map_or_else(Span::call_site, |seg| seg.ident.span());
                        s.push(library, symbol, span);
                    }
                }
            }
            syn::visit::visit_expr_call(s, node);
        });
    }
    fn visit_item(&mut self, _: &'a syn::Item) {}
}
