//! `double_lifecycle`: the same init or deinit call made from two methods of one type.
//!
//! Shapes: a free-function call (or a call on `self`'s fields) whose name is an init or deinit
//! step (`*_init`, `*Initialize*`, `*startup`, `*_close`, `*shutdown`, `*_destroy`, `deinit`,
//! `cleanup`, `terminate`, …), made in two methods of the same `impl` / class — constructor and
//! destructor included, so `init()` in a C++ constructor and again in `reload()` is flagged.
//! Not flagged: two constructors (each makes a new instance), a call guarded by the object's
//! state (inside an `if` / `match` on `self` / `this` / a member, or after an early return on
//! one), a method that consumes `self` and forgets it, calls on other values (`Block::destroy`,
//! `shard.init_with`), and per-`cfg` variants.

use std::collections::HashMap;

use crate::finding::Severity;
use crate::ir::{FnKind, Function, Kind, Unit};
use crate::known;
use crate::rules::{Cx, Example, Hit, Rule};

/// The rule.
pub const RULE: Rule = Rule {
    id: "double_lifecycle",
    summary: "the same init or deinit call is made from two methods of one type",
    why: "a library initialized in the constructor and again in a public method (or shut down in \
          `Drop` and in a public `close`) is initialized or freed twice on one instance: leaked \
          contexts, double frees, or a shutdown of someone else's state",
    fix: "give each lifecycle call one home: init in the constructor, deinit in `Drop`; make \
          `close(self)` consume the value and let `Drop` do the work, or guard with a state flag",
    default_severity: Severity::Warning,
    examples: &[
        Example {
            lang: "rust",
            flagged: "pub fn close(&mut self) { unsafe { backend_shutdown(self.ctx) } }\nimpl Drop for Runtime {\n    fn drop(&mut self) { unsafe { backend_shutdown(self.ctx) } } // twice after close()\n}",
            fixed: "pub fn close(&mut self) {\n    if let Some(ctx) = self.ctx.take() { unsafe { backend_shutdown(ctx) } }\n}\nimpl Drop for Runtime {\n    fn drop(&mut self) { self.close() }\n}",
        },
        Example {
            lang: "cpp",
            flagged: "Backend::Backend() { init(); }\nvoid Backend::reload() { init(); } // re-initializes under live sessions",
            fixed: "Backend::Backend() { init(); }\nvoid Backend::reload() { if (!initialized_) init(); }",
        },
    ],
    check,
};

/// (owner type, callee, cfg).
type Key<'a> = (&'a str, &'a str, &'a str);

fn check(cx: &Cx<'_, '_>, hits: &mut Vec<Hit>) {
    let unit = cx.unit;
    // (owner, callee, cfg) → calls (function index, node).
    let mut calls: HashMap<Key<'_>, Vec<(usize, u32)>> = HashMap::new();
    for (fi, f) in unit.functions.iter().enumerate() {
        let Some(owner) = f.owner.as_deref() else {
            continue;
        };
        if f.consumes_self && forgets_self(unit, f) {
            continue;
        }
        for i in unit.descendants(f.body) {
            let Some(name) = lifecycle_call(unit, i) else {
                continue;
            };
            // `void init(Loader& l) { init(l.load()); }`: an overload delegating, not a second
            // call site; `AAsset_close(asset)` on a local: another object's lifecycle.
            if name == f.name || guarded(cx, f, i) || on_local_only(cx, f, i) {
                continue;
            }
            calls
                .entry((owner, name, f.cfg.as_str()))
                .or_default()
                .push((fi, i));
        }
    }
    let mut keys: Vec<_> = calls.keys().copied().collect();
    keys.sort_unstable();
    for key in keys {
        let list = &calls[&key];
        let mut methods: Vec<usize> = list.iter().map(|&(fi, _)| fi).collect();
        methods.dedup();
        if methods.len() < 2 {
            continue;
        }
        if methods
            .iter()
            .all(|&fi| unit.functions[fi].kind == FnKind::Ctor)
        {
            continue;
        }
        // A C++ call of the type's own `init()` method: the shape is a constructor that calls
        // it and another method that calls it again (a lazy `init()` guarded inside is not).
        let own_method = unit.lang == crate::ir::Lang::Cpp
            && cx
                .summary
                .methods
                .contains(&(key.0.to_owned(), key.1.to_owned()));
        let lazy = cx
            .summary
            .guarded_methods
            .contains(&(key.0.to_owned(), key.1.to_owned()));
        if own_method && lazy {
            continue;
        }
        if own_method
            && !methods
                .iter()
                .any(|&fi| unit.functions[fi].kind == FnKind::Ctor)
        {
            continue;
        }
        let first = list[0].0;
        let first_name = &unit.functions[first].name;
        for &(fi, node) in list.iter().filter(|&&(fi, _)| fi != first) {
            let f = &unit.functions[fi];
            if f.kind == FnKind::Ctor && unit.functions[first].kind == FnKind::Ctor {
                continue;
            }
            let word = known::lifecycle_word(key.1).unwrap_or("init");
            hits.push(
                Hit::name_of(unit, node, format!(
                    "`{}` ({word}) is called from both `{}::{first_name}` (line {{line}}) and `{}::{}`: one instance can {word} twice",
                    key.1, key.0, key.0, f.name
                ))
                .related(unit.node(list[0].1).start),
            );
        }
    }
}

/// Whether the call's value is kept (bound, constructed into, returned, passed on): then it
/// makes a new object (`ctx = ggml_init(params)`), it does not (re)initialize this one.
fn value_is_kept(unit: &Unit<'_>, i: u32) -> bool {
    let mut at = i;
    for _ in 0..16 {
        let p = unit.parent(at);
        if p == at {
            return false;
        }
        let pn = unit.node(p);
        match pn.kind {
            Kind::Block => return false,
            Kind::Other if unit.children(p).count() == 1 => at = p,
            Kind::Binary | Kind::Unary | Kind::If | Kind::Try => return false,
            Kind::Method if unit.child(p, 0) == Some(at) => at = p,
            _ => return true,
        }
    }
    true
}

/// The callee name when node `i` is an init / deinit call on this instance's state.
fn lifecycle_call<'t>(unit: &Unit<'t>, i: u32) -> Option<&'t str> {
    let n = unit.node(i);
    let name = unit.name(i);
    if value_is_kept(unit, i) {
        return None;
    }
    match n.kind {
        Kind::Call => {
            let qual = unit.qual(i);
            if qual.chars().next().is_some_and(char::is_uppercase) && !known::is_win32_module(qual)
            {
                return None;
            }
            known::lifecycle_word(name).map(|_| name)
        }
        Kind::Method => {
            let recv = unit.child(i, 0)?;
            let r = unit.node(recv);
            let on_field = r.kind == Kind::Field
                && unit
                    .child(recv, 0)
                    .and_then(|b| unit.var_of(b))
                    .is_some_and(|b| b == "self" || b == "this");
            (on_field && known::lifecycle_word(name).is_some()).then_some(name)
        }
        _ => None,
    }
}

/// Whether the call at `i` is guarded by the object's state.
fn guarded(cx: &Cx<'_, '_>, f: &Function, i: u32) -> bool {
    let unit = cx.unit;
    let on_state = |cond: u32| {
        unit.subtree(cond).any(|k| {
            let n = unit.node(k);
            (n.kind == Kind::Path && matches!(unit.name(k), "self" | "this"))
                || (n.kind == Kind::Path
                    && unit.lang == crate::ir::Lang::Cpp
                    && f.owner
                        .as_deref()
                        .is_some_and(|o| cx.summary.field(o, unit.name(k)).is_some()))
        })
    };
    for a in unit.ancestors(i) {
        let n = unit.node(a);
        if matches!(n.kind, Kind::If | Kind::Match | Kind::Loop) {
            if let Some(cond) = unit.child(a, 0) {
                if !unit.contains(cond, i) && on_state(cond) {
                    return true;
                }
            }
        }
        if a == f.body {
            break;
        }
    }
    // An early return on the state before the call.
    unit.descendants(f.body).take_while(|&g| g < i).any(|g| {
        unit.node(g).kind == Kind::If
            && unit.dominates(g, i)
            && unit.child(g, 1).is_some_and(|t| unit.always_exits(t))
            && unit.child(g, 0).is_some_and(on_state)
    })
}

fn forgets_self(unit: &Unit<'_>, f: &Function) -> bool {
    unit.descendants(f.body).any(|i| {
        unit.node(i).kind == Kind::Call
            && unit.name(i) == "forget"
            && unit.children(i).any(|a| unit.var_of(a) == Some("self"))
    })
}

/// Whether the call's arguments name locals of the function but nothing of the instance
/// (`self`, `this`, a member): it acts on another object.
fn on_local_only(cx: &Cx<'_, '_>, f: &Function, i: u32) -> bool {
    let unit = cx.unit;
    let mut local = false;
    for a in unit
        .children(i)
        .skip(usize::from(unit.node(i).kind == Kind::Method))
    {
        for k in unit.subtree(a) {
            let n = unit.node(k);
            if n.kind != Kind::Path || n.qual.len > 0 {
                continue;
            }
            let name = unit.name(k);
            if matches!(name, "self" | "this")
                || f.owner
                    .as_deref()
                    .is_some_and(|o| cx.summary.field(o, name).is_some())
            {
                return false;
            }
            local |= f.params.iter().any(|(p, _)| p == name)
                || unit
                    .descendants(f.body)
                    .any(|d| unit.node(d).kind == Kind::Let && unit.name(d) == name);
        }
    }
    local
}
