//! `map_linear_scan`: a map searched by iterating over it and comparing keys.
//!
//! The maps are known from the file's declarations: struct fields, statics, parameters and
//! `let`s typed `HashMap` / `BTreeMap` / `IndexMap` (or wrapping one in `Arc`, `Mutex`, …), and
//! `let`s initialized with `HashMap::new()` and the like. Flagged: `map.iter().find(|(k, _)| ..k
//! == x..)`, `.keys().any(|k| k == x)`, `.iter().position(..)`, `.filter(..)`, and `for (k, v)
//! in &map { if k == x {..} }`. A search by value (`|(_, v)| v == x`) is not flagged: a map
//! cannot do better.

use std::collections::HashSet;

use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{BinOp, Expr, Pat, Type};

use crate::context::FileContext;
use crate::finding::Severity;
use crate::rules::{Hit, Rule};
use crate::syntax::{last_segment, parent_segment, peel, type_is_or_wraps};

/// The rule.
pub const RULE: Rule = Rule {
    id: "map_linear_scan",
    summary: "a map is searched by scanning its entries and comparing keys",
    why: "scanning a map for a key is O(n) per lookup and hides the intent; in a registry of open \
          files or handles it turns every open into a walk over all the others",
    fix: "look the key up directly: `map.get(&key)`, `map.get_key_value(&key)`, \
          `map.contains_key(&key)` (borrow the key type: `map.get(path.as_path())`)",
    default_severity: Severity::Warning,
    check,
};

const MAPS: &[&str] = &[
    "HashMap",
    "BTreeMap",
    "IndexMap",
    "FxHashMap",
    "AHashMap",
    "DashMap",
];
const WRAPPERS: &[&str] = &[
    "Arc",
    "Rc",
    "Mutex",
    "RwLock",
    "RefCell",
    "Box",
    "OnceLock",
    "OnceCell",
    "LazyLock",
    "Lazy",
    "ManuallyDrop",
    "Option",
];
const SEARCHES: &[&str] = &["find", "position", "any", "find_map", "filter", "rposition"];

fn is_map_type(ty: &Type) -> bool {
    type_is_or_wraps(ty, MAPS, WRAPPERS)
}

fn check(ctx: &FileContext<'_>) -> Vec<Hit> {
    let mut maps = MapNames::default();
    maps.visit_file(ctx.file);
    if maps.names.is_empty() {
        return Vec::new();
    }
    let mut scans = Scans {
        maps: &maps.names,
        hits: Vec::new(),
    };
    scans.visit_file(ctx.file);
    scans.hits
}

/// The names that denote maps in this file.
#[derive(Default)]
struct MapNames {
    names: HashSet<String>,
}

impl<'a> Visit<'a> for MapNames {
    fn visit_field(&mut self, node: &'a syn::Field) {
        if let Some(ident) = &node.ident {
            if is_map_type(&node.ty) {
                self.names.insert(ident.to_string());
            }
        }
        syn::visit::visit_field(self, node);
    }
    fn visit_item_static(&mut self, node: &'a syn::ItemStatic) {
        if is_map_type(&node.ty) {
            self.names.insert(node.ident.to_string());
        }
        syn::visit::visit_item_static(self, node);
    }
    fn visit_pat_type(&mut self, node: &'a syn::PatType) {
        if let Pat::Ident(p) = &*node.pat {
            if is_map_type(&node.ty) {
                self.names.insert(p.ident.to_string());
            }
        }
        syn::visit::visit_pat_type(self, node);
    }
    fn visit_local(&mut self, node: &'a syn::Local) {
        if let (Pat::Ident(p), Some(init)) = (&node.pat, &node.init) {
            if let Expr::Call(call) = peel(&init.expr) {
                if let Expr::Path(f) = &*call.func {
                    if parent_segment(&f.path).is_some_and(|t| MAPS.contains(&t.as_str())) {
                        self.names.insert(p.ident.to_string());
                    }
                }
            }
        }
        syn::visit::visit_local(self, node);
    }
}

/// The map a receiver expression denotes: `self.handles`, `handles`, `self.map.lock().unwrap()`.
fn receiver_name(e: &Expr) -> Option<String> {
    match peel(e) {
        Expr::Path(p) => last_segment(&p.path),
        Expr::Field(f) => match &f.member {
            syn::Member::Named(ident) => Some(ident.to_string()),
            syn::Member::Unnamed(_) => None,
        },
        Expr::Reference(r) => receiver_name(&r.expr),
        Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => receiver_name(&u.expr),
        Expr::Try(t) => receiver_name(&t.expr),
        // Accessors that reach the map itself (`lock()`, `OnceLock::get()`), not one of its
        // values (`map.get(k)`).
        Expr::MethodCall(m)
            if (m.args.is_empty()
                && matches!(
                    m.method.to_string().as_str(),
                    "lock"
                        | "read"
                        | "write"
                        | "borrow"
                        | "borrow_mut"
                        | "unwrap"
                        | "as_ref"
                        | "as_mut"
                        | "deref"
                        | "get"
                        | "get_mut"
                ))
                || matches!(m.method.to_string().as_str(), "expect" | "unwrap_or_else") =>
        {
            receiver_name(&m.receiver)
        }
        _ => None,
    }
}

/// How the key is reached from a closure's or loop's pattern.
enum Key {
    /// `|(k, _)|`, `|k|` over `.keys()`, `for (k, _) in ..`: the key is this identifier.
    Ident(String),
    /// `|entry|` over `.iter()`: the key is `entry.0`.
    TupleField(String),
}

fn key_of_pattern(pat: &Pat, keys_only: bool) -> Option<Key> {
    match pat {
        Pat::Reference(r) => key_of_pattern(&r.pat, keys_only),
        Pat::Type(t) => key_of_pattern(&t.pat, keys_only),
        Pat::Paren(p) => key_of_pattern(&p.pat, keys_only),
        Pat::Ident(p) if keys_only => Some(Key::Ident(p.ident.to_string())),
        Pat::Ident(p) => Some(Key::TupleField(p.ident.to_string())),
        Pat::Tuple(t) if !keys_only => match t.elems.first()? {
            Pat::Ident(p) => Some(Key::Ident(p.ident.to_string())),
            Pat::Reference(r) => match &*r.pat {
                Pat::Ident(p) => Some(Key::Ident(p.ident.to_string())),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

fn is_key(e: &Expr, key: &Key) -> bool {
    match peel(e) {
        Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => is_key(&u.expr, key),
        Expr::Reference(r) => is_key(&r.expr, key),
        Expr::MethodCall(m)
            if m.args.is_empty()
                && matches!(
                    m.method.to_string().as_str(),
                    "as_str"
                        | "as_path"
                        | "as_ref"
                        | "borrow"
                        | "as_os_str"
                        | "deref"
                        | "as_slice"
                        | "as_bytes"
                ) =>
        {
            is_key(&m.receiver, key)
        }
        Expr::Path(p) => matches!(key, Key::Ident(k) if p.path.is_ident(k)),
        Expr::Field(f) => match (key, &f.member) {
            (Key::TupleField(k), syn::Member::Unnamed(i)) if i.index == 0 => {
                matches!(peel(&f.base), Expr::Path(p) if p.path.is_ident(k))
            }
            _ => false,
        },
        _ => false,
    }
}

/// Whether `e` compares the key for equality (`k == x`, `x == *k`, `k.eq(x)`).
fn compares_key(e: &Expr, key: &Key) -> bool {
    struct Finder<'k> {
        key: &'k Key,
        found: bool,
    }
    impl<'a> Visit<'a> for Finder<'_> {
        fn visit_expr_binary(&mut self, node: &'a syn::ExprBinary) {
            if matches!(node.op, BinOp::Eq(_))
                && (is_key(&node.left, self.key) || is_key(&node.right, self.key))
            {
                self.found = true;
            }
            syn::visit::visit_expr_binary(self, node);
        }
        fn visit_expr_method_call(&mut self, node: &'a syn::ExprMethodCall) {
            if node.method == "eq" && is_key(&node.receiver, self.key) {
                self.found = true;
            }
            syn::visit::visit_expr_method_call(self, node);
        }
    }
    let mut finder = Finder { key, found: false };
    finder.visit_expr(e);
    finder.found
}

struct Scans<'m> {
    maps: &'m HashSet<String>,
    hits: Vec<Hit>,
}

impl Scans<'_> {
    fn message(map: &str) -> String {
        format!("`{map}` is a map, but this searches it by scanning every entry and comparing keys")
    }
}

impl<'a> Visit<'a> for Scans<'_> {
    fn visit_expr_method_call(&mut self, node: &'a syn::ExprMethodCall) {
        let method = node.method.to_string();
        if SEARCHES.contains(&method.as_str()) {
            if let Expr::MethodCall(iter) = peel(&node.receiver) {
                let iter_method = iter.method.to_string();
                let keys_only = iter_method == "keys";
                let is_iter = matches!(
                    iter_method.as_str(),
                    "iter" | "iter_mut" | "into_iter" | "keys"
                );
                if let (true, Some(map), Some(Expr::Closure(closure))) =
                    (is_iter, receiver_name(&iter.receiver), node.args.first())
                {
                    let key = closure
                        .inputs
                        .first()
                        .and_then(|p| key_of_pattern(p, keys_only));
                    if self.maps.contains(&map)
                        && key.is_some_and(|k| compares_key(&closure.body, &k))
                    {
                        self.hits.push(Hit::between(
                            iter.receiver.span(),
                            node.span(),
                            Self::message(&map),
                        ));
                    }
                }
            }
        }
        syn::visit::visit_expr_method_call(self, node);
    }

    fn visit_expr_for_loop(&mut self, node: &'a syn::ExprForLoop) {
        let (source, keys_only) = match peel(&node.expr) {
            Expr::MethodCall(m)
                if matches!(
                    m.method.to_string().as_str(),
                    "iter" | "iter_mut" | "into_iter"
                ) =>
            {
                (receiver_name(&m.receiver), false)
            }
            Expr::MethodCall(m) if m.method == "keys" => (receiver_name(&m.receiver), true),
            other => (receiver_name(other), false),
        };
        if let Some(map) = source {
            if self.maps.contains(&map) {
                let key = key_of_pattern(&node.pat, keys_only);
                let compares = key.is_some_and(|k| {
                    node.body.stmts.iter().any(|s| match s {
                        syn::Stmt::Expr(Expr::If(i), _) => compares_key(&i.cond, &k),
                        _ => false,
                    })
                });
                if compares {
                    self.hits.push(Hit::between(
                        node.for_token.span,
                        node.expr.span(),
                        Self::message(&map),
                    ));
                }
            }
        }
        syn::visit::visit_expr_for_loop(self, node);
    }
}
