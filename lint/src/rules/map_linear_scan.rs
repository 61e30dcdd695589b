//! `map_linear_scan`: a map or set searched by iterating over it and comparing keys.
//!
//! A map is known from declarations, across the files of the crate or directory: a field whose
//! type is (or wraps, through `Mutex`, `RwLock`, `Arc`, …) a `HashMap`, `BTreeMap`,
//! `IndexMap`, `HashSet`, `BTreeSet`, `std::map`, `std::unordered_map`, `std::set`, …; a local
//! declared with such a type, built with `HashMap::new()` & co., or taken from such a field
//! (`self.handles.lock().unwrap()`); a parameter of such a type. Shapes: `m.iter()` / `keys()`
//! followed by `find` / `any` / `position` / `filter` / `find_map` / `all` / `count` whose
//! closure compares the key with `==` / `!=`; `std::find_if` / `any_of` / `count_if` over
//! `m.begin(), m.end()` with such a lambda; a `for` loop over the map whose body compares the
//! key in a condition. Comparing the value, or a property of the key (`starts_with`), is not
//! flagged: a map cannot do better there; nor is comparing the key with null (`nullptr`,
//! `NULL`, `None`, `0`), which skips empty entries rather than searching, a comparison whose
//! branch only `continue`s (it skips one entry and visits the rest), or one with a variable of
//! a loop nested inside (`for host : gpus { for peer : gpus { if (host == peer) … } }` pairs
//! entries up; it looks for no key).

use crate::finding::Severity;
use crate::ir::{Function, KEY, Kind, Op, Unit};
use crate::known;
use crate::rules::{Cx, Example, Hit, Rule};
use crate::summary::{STy, owned};

/// The rule.
pub const RULE: Rule = Rule {
    id: "map_linear_scan",
    summary: "a map is searched by scanning its entries and comparing keys",
    why: "scanning a map for a key is O(n) per lookup and hides the intent; in a registry of open \
          files or handles it turns every open into a walk over all the others",
    fix: "look the key up directly: `map.get(&key)`, `map.get_key_value(&key)`, \
          `map.contains_key(&key)` (borrow the key type: `map.get(path.as_path())`)",
    default_severity: Severity::Warning,
    examples: &[
        Example {
            lang: "rust",
            flagged: "let handles = self.handles.lock().unwrap(); // Mutex<HashMap<PathBuf, Handle>>\nhandles.iter().find(|(p, _)| p.as_path() == path).map(|(_, h)| h.clone())",
            fixed: "let handles = self.handles.lock().unwrap();\nhandles.get(path).cloned()",
        },
        Example {
            lang: "cpp",
            flagged: "auto it = std::find_if(tensors_.begin(), tensors_.end(),\n    [&](const auto& kv) { return kv.first == name; }); // std::unordered_map",
            fixed: "auto it = tensors_.find(name);",
        },
    ],
    check,
};

const SCANS: &[&str] = &[
    "find",
    "any",
    "position",
    "filter",
    "find_map",
    "all",
    "count",
    "filter_map",
    "rposition",
];

fn check(cx: &Cx<'_, '_>, hits: &mut Vec<Hit>) {
    let unit = cx.unit;
    for f in &unit.functions {
        for i in unit.descendants(f.body) {
            let n = unit.node(i);
            match n.kind {
                Kind::Method if SCANS.contains(&unit.name(i)) => {
                    let Some(recv) = unit.child(i, 0) else {
                        continue;
                    };
                    let Some(closure) = unit.children(i).nth(1) else {
                        continue;
                    };
                    if let Some(hit) = scan_of(cx, f, recv, closure, i) {
                        hits.push(hit);
                    }
                }
                Kind::Call
                    if matches!(
                        unit.name(i),
                        "find_if" | "any_of" | "count_if" | "all_of" | "none_of" | "find_if_not"
                    ) =>
                {
                    let args: Vec<u32> = unit.children(i).collect();
                    let (Some(&begin), Some(&lambda)) = (args.first(), args.get(2)) else {
                        continue;
                    };
                    let b = unit.peel(begin);
                    if unit.node(b).kind != Kind::Method
                        || !matches!(unit.name(b), "begin" | "cbegin")
                    {
                        continue;
                    }
                    let Some(map) = unit.child(b, 0) else {
                        continue;
                    };
                    let Some(is_set) = map_type(cx, f, map) else {
                        continue;
                    };
                    if compares_key(unit, lambda, if is_set { Elem::Whole } else { Elem::Pair }) {
                        hits.push(Hit::at(unit, i, message(unit, map, is_set)));
                    }
                }
                Kind::Loop if n.flags & crate::ir::FOR != 0 => {
                    let kids: Vec<u32> = unit.children(i).collect();
                    let Some(pos) = kids.iter().position(|&c| unit.node(c).kind != Kind::Param)
                    else {
                        continue;
                    };
                    let (Some(&head), Some(&body)) = (kids.get(pos), kids.last()) else {
                        continue;
                    };
                    if head == body {
                        continue;
                    }
                    let params = &kids[..pos];
                    let Some((map, elem)) = iterated(cx, f, head) else {
                        continue;
                    };
                    let keys = key_bindings(unit, params, elem);
                    if keys.is_empty() {
                        continue;
                    }
                    // Variables of loops nested in the body: comparing the key with one of
                    // them (`for host : gpus { for peer : gpus { if (host == peer) … } }`)
                    // pairs entries up, it searches for no key.
                    let inner: Vec<&str> = unit
                        .subtree(body)
                        .filter(|&c| unit.node(c).kind == Kind::Loop)
                        .flat_map(|l| unit.children(l))
                        .filter(|&c| unit.node(c).kind == Kind::Param)
                        .map(|c| unit.name(c))
                        .filter(|n| !n.is_empty())
                        .collect();
                    // A comparison inside a closure of the body (`other.iter().any(|x| x.id ==
                    // *k)`) searches something else, not this map; one whose branch only
                    // `continue`s skips that entry and visits the rest.
                    let compares = unit.subtree(body).any(|c| {
                        unit.node(c).kind == Kind::If
                            && !unit.child(c, 1).is_some_and(|t| only_continues(unit, t))
                            && unit.child(c, 0).is_some_and(|cond| {
                                key_equality(unit, cond, &keys)
                                    && !inner.iter().any(|v| unit.mentions(cond, v))
                                    && !unit
                                        .subtree(cond)
                                        .any(|x| unit.node(x).kind == Kind::Closure)
                            })
                    });
                    if compares {
                        let n = unit.node(i);
                        let end = unit.node(head).end;
                        hits.push(Hit::span(n.start, end, message(unit, map, false)));
                    }
                }
                _ => {}
            }
        }
    }
}

fn message(unit: &Unit<'_>, map: u32, is_set: bool) -> String {
    let m = strip_ref(unit, map);
    let name = match unit.node(m).kind {
        Kind::Field | Kind::Path => unit.name(m),
        _ => unit.src(m),
    };
    let what = if is_set { "set" } else { "map" };
    format!("`{name}` is a {what}, but this searches it by scanning every entry and comparing keys")
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Elem {
    /// The element is a `(key, value)` pair.
    Pair,
    /// The element is the key itself (`keys()`, a set).
    Whole,
}

fn scan_of(cx: &Cx<'_, '_>, f: &Function, recv: u32, closure: u32, at: u32) -> Option<Hit> {
    let unit = cx.unit;
    let (map, elem) = iterated(cx, f, recv)?;
    if unit.node(closure).kind != Kind::Closure || !compares_key(unit, closure, elem) {
        return None;
    }
    let is_set = map_type(cx, f, map)?;
    Some(Hit::at(unit, at, message(unit, map, is_set)))
}

/// `m.iter()` / `m.keys()` / `&m` over a map: the map node and what each element is.
fn iterated(cx: &Cx<'_, '_>, f: &Function, e: u32) -> Option<(u32, Elem)> {
    let unit = cx.unit;
    let e = strip_ref(unit, e);
    let n = unit.node(e);
    if n.kind == Kind::Method {
        let elem = match unit.name(e) {
            "iter" | "into_iter" | "iter_mut" => Elem::Pair,
            "keys" | "into_keys" => Elem::Whole,
            _ => return None,
        };
        let map = unit.child(e, 0)?;
        let is_set = map_type(cx, f, map)?;
        return Some((map, if is_set { Elem::Whole } else { elem }));
    }
    let is_set = map_type(cx, f, e)?;
    Some((e, if is_set { Elem::Whole } else { Elem::Pair }))
}

fn strip_ref(unit: &Unit<'_>, mut e: u32) -> u32 {
    loop {
        e = unit.peel(e);
        let n = unit.node(e);
        if n.kind == Kind::Unary && matches!(n.op, Op::Ref | Op::Deref) {
            match unit.child(e, 0) {
                Some(c) => e = c,
                None => return e,
            }
        } else {
            return e;
        }
    }
}

fn is_map_ty(t: &STy) -> Option<bool> {
    let through = [
        "Mutex",
        "RwLock",
        "Arc",
        "Rc",
        "RefCell",
        "Box",
        "MutexGuard",
        "RwLockReadGuard",
        "RwLockWriteGuard",
        "shared_ptr",
        "unique_ptr",
    ];
    let mut t = t;
    for _ in 0..8 {
        if known::is_map(&t.name) && !t.pointer {
            return Some(known::is_set(&t.name));
        }
        if !through.contains(&t.name.as_str()) {
            return None;
        }
        t = t.args.first()?;
    }
    None
}

/// Whether expression `e` is a map (`Some(is_set)`).
fn map_type(cx: &Cx<'_, '_>, f: &Function, e: u32) -> Option<bool> {
    map_type_at(cx, f, e, 0)
}

fn map_type_at(cx: &Cx<'_, '_>, f: &Function, e: u32, depth: usize) -> Option<bool> {
    if depth > 32 {
        return None;
    }
    let unit = cx.unit;
    let e = strip_ref(unit, e);
    let n = unit.node(e);
    match n.kind {
        Kind::Field => {
            let field = unit.name(e);
            let base = unit.child(e, 0)?;
            let on_self = matches!(unit.var_of(base), Some("self" | "this"));
            if on_self {
                let owner = f.owner.as_deref()?;
                return is_map_ty(cx.summary.field(owner, field)?);
            }
            let types = cx.summary.fields_by_name.get(field)?;
            let all: Option<Vec<bool>> = types.iter().map(is_map_ty).collect();
            let all = all?;
            (!all.is_empty()).then(|| all.iter().all(|&s| s))
        }
        Kind::Method => match unit.name(e) {
            "lock" | "read" | "write" | "unwrap" | "expect" | "borrow" | "borrow_mut"
            | "as_ref" | "as_mut" | "get_mut" | "try_lock" => map_type(cx, f, unit.child(e, 0)?),
            _ => None,
        },
        Kind::Path if n.qual.len == 0 => {
            let var = unit.name(e);
            if unit.lang == crate::ir::Lang::Cpp {
                if let Some(owner) = f.owner.as_deref() {
                    if let Some(t) = cx.summary.field(owner, var) {
                        if let Some(s) = is_map_ty(t) {
                            return Some(s);
                        }
                    }
                }
            }
            if let Some((_, ty)) = f.params.iter().find(|(p, _)| p == var) {
                return is_map_ty(&owned(unit, *ty));
            }
            let def = (f.body..e).rev().find(|&d| {
                let dn = unit.node(d);
                // A `let` that ends before the use (not the one whose initializer this is).
                dn.kind == Kind::Let && dn.last <= e && unit.name(d) == var
            })?;
            let dn = unit.node(def);
            if dn.ty != 0 {
                if let Some(s) = is_map_ty(&owned(unit, dn.ty)) {
                    return Some(s);
                }
            }
            let init = unit.peel(unit.child(def, 0)?);
            let i = unit.node(init);
            if i.kind == Kind::Call && known::is_map(unit.qual(init)) {
                return Some(known::is_set(unit.qual(init)));
            }
            if init == e {
                return None;
            }
            map_type_at(cx, f, init, depth + 1)
        }
        _ => None,
    }
}

/// The variables that are the key in a closure's or loop's bindings, and the `.0` / `.first`
/// forms of a whole `(k, v)` binding.
fn key_bindings<'t>(unit: &Unit<'t>, params: &[u32], elem: Elem) -> Vec<(&'t str, bool)> {
    let mut keys = Vec::new();
    match elem {
        Elem::Whole => {
            if let Some(&p) = params.first() {
                keys.push((unit.name(p), false));
            }
        }
        Elem::Pair => {
            for &p in params {
                if unit.node(p).flags & KEY != 0 {
                    keys.push((unit.name(p), false));
                }
            }
            if keys.is_empty() && params.len() == 1 {
                // `|entry| entry.0 == k` / `[&](const auto& kv) { return kv.first == k; }`
                keys.push((unit.name(params[0]), true));
            }
        }
    }
    keys.retain(|(k, _)| !k.is_empty() && *k != "_");
    keys
}

/// Whether statement `s` is `continue` (alone, or alone in a block).
fn only_continues(unit: &Unit<'_>, s: u32) -> bool {
    let s = match unit.node(s).kind {
        Kind::Block => {
            let mut kids = unit.children(s);
            match (kids.next(), kids.next()) {
                (Some(only), None) => only,
                _ => return false,
            }
        }
        _ => s,
    };
    unit.node(s).kind == Kind::Other && unit.src(s).trim_start().starts_with("continue")
}

fn compares_key(unit: &Unit<'_>, closure: u32, elem: Elem) -> bool {
    if unit.node(closure).kind != Kind::Closure {
        return false;
    }
    let kids: Vec<u32> = unit.children(closure).collect();
    let params: Vec<u32> = kids
        .iter()
        .copied()
        .filter(|&c| unit.node(c).kind == Kind::Param)
        .collect();
    let Some(&body) = kids.last() else {
        return false;
    };
    let keys = key_bindings(unit, &params, elem);
    !keys.is_empty() && key_equality(unit, body, &keys)
}

/// Whether `e` contains `key == other` (or `!=`), with the key on one side only.
fn key_equality(unit: &Unit<'_>, e: u32, keys: &[(&str, bool)]) -> bool {
    unit.subtree(e).any(|b| {
        let n = unit.node(b);
        if n.kind != Kind::Binary || !matches!(n.op, Op::Eq | Op::Ne) {
            return false;
        }
        let (Some(l), Some(r)) = (unit.child(b, 0), unit.child(b, 1)) else {
            return false;
        };
        let is_key = |x: u32| is_key_expr(unit, x, keys);
        let mentions_key = |x: u32| keys.iter().any(|(k, _)| unit.mentions(x, k));
        // `if (state == nullptr) continue;` skips empty entries: that filters, it searches
        // for nothing.
        let null = |x: u32| {
            let x = unit.peel(x);
            let n = unit.node(x);
            matches!(n.kind, Kind::Path | Kind::Lit)
                && matches!(unit.name(x), "nullptr" | "NULL" | "None" | "0")
        };
        (is_key(l) && !mentions_key(r) && !null(r)) || (is_key(r) && !mentions_key(l) && !null(l))
    })
}

fn is_key_expr(unit: &Unit<'_>, x: u32, keys: &[(&str, bool)]) -> bool {
    let mut x = x;
    for _ in 0..16 {
        x = unit.peel(x);
        let n = unit.node(x);
        match n.kind {
            Kind::Unary if matches!(n.op, Op::Ref | Op::Deref) => {
                x = match unit.child(x, 0) {
                    Some(c) => c,
                    None => return false,
                }
            }
            Kind::Method
                if matches!(
                    unit.name(x),
                    "as_path"
                        | "as_str"
                        | "as_ref"
                        | "borrow"
                        | "deref"
                        | "as_bytes"
                        | "as_os_str"
                        | "to_str"
                        | "as_slice"
                ) =>
            {
                x = match unit.child(x, 0) {
                    Some(c) => c,
                    None => return false,
                };
            }
            Kind::Field if matches!(unit.name(x), "0" | "first") => {
                let Some(base) = unit.child(x, 0) else {
                    return false;
                };
                return keys
                    .iter()
                    .any(|(k, whole)| *whole && unit.var_of(base) == Some(k));
            }
            Kind::Path => return keys.iter().any(|(k, whole)| !*whole && unit.is_var(x, k)),
            _ => return false,
        }
    }
    false
}
