//! `duplicate_symbol`: the same symbol resolved twice from one library.
//!
//! Shapes: `lib.get(b"name\0")` / `lib.get(c"name")` (libloading; a byte or C string literal,
//! so `map.get("key")` is not a symbol), `dlsym(handle, "name")` / `dlsym(h, c"name".as_ptr())`,
//! `GetProcAddress(module, s!("name"))` / `GetProcAddress(m, "name")`, twice with the same
//! library expression and name, under the same `cfg` / `#if`, in one function or across the
//! methods of one type (`impl`, C++ class). The second resolution is flagged.

use std::collections::HashMap;

use crate::finding::Severity;
use crate::ir::Kind;
use crate::rules::{Cx, Example, Hit, Rule};

/// The rule.
pub const RULE: Rule = Rule {
    id: "duplicate_symbol",
    summary: "the same symbol is resolved twice from the same library",
    why: "two resolutions of one symbol drift apart (one gets a signature fix, the other does not) \
          and cost a lookup each; in an API table the second entry hides the first",
    fix: "resolve each symbol once, into a typed table of function pointers built when the library \
          is opened (`loadguard_macros`' API tables), and use that",
    default_severity: Severity::Warning,
    examples: &[
        Example {
            lang: "rust",
            flagged: "let init: Symbol<InitFn> = unsafe { lib.get(b\"nrt_init\\0\")? };\nlet close: Symbol<CloseFn> = unsafe { lib.get(b\"nrt_init\\0\")? }; // meant nrt_close",
            fixed: "let init: Symbol<InitFn> = unsafe { lib.get(b\"nrt_init\\0\")? };\nlet close: Symbol<CloseFn> = unsafe { lib.get(b\"nrt_close\\0\")? };",
        },
        Example {
            lang: "cpp",
            flagged: "api.open = (open_fn) dlsym(h, \"model_open\");\napi.close = (close_fn) dlsym(h, \"model_open\");",
            fixed: "api.open = (open_fn) dlsym(h, \"model_open\");\napi.close = (close_fn) dlsym(h, \"model_close\");",
        },
    ],
    check,
};

fn check(cx: &Cx<'_, '_>, hits: &mut Vec<Hit>) {
    let unit = cx.unit;
    // (scope, library text, symbol, cfg) → first resolution.
    let mut seen: HashMap<(String, String, String, String), u32> = HashMap::new();
    for (fi, f) in unit.functions.iter().enumerate() {
        let scope = f.owner.clone().unwrap_or_else(|| format!("fn#{fi}"));
        for i in unit.descendants(f.body) {
            let Some((lib, sym)) = resolution(cx, i) else {
                continue;
            };
            let cfg = format!("{} {}", f.cfg, unit.cfg_of(i));
            let key = (scope.clone(), normalize(&lib), sym.clone(), cfg);
            if let Some(&first) = seen.get(&key) {
                hits.push(
                    Hit::name_of(unit, i, format!(
                        "symbol `{sym}` is resolved again from `{}` (first resolved on line {{line}})",
                        normalize(&lib)
                    ))
                    .related(unit.node(first).start),
                );
            } else {
                seen.insert(key, i);
            }
        }
    }
}

fn normalize(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// `(library text, symbol)` when node `i` resolves a symbol.
fn resolution(cx: &Cx<'_, '_>, i: u32) -> Option<(String, String)> {
    let unit = cx.unit;
    let n = unit.node(i);
    match n.kind {
        Kind::Method if matches!(unit.name(i), "get" | "get_unchecked") => {
            let recv = unit.child(i, 0)?;
            let arg = unit.peel(unit.child(i, 1)?);
            if unit.node(arg).kind != Kind::Str {
                return None;
            }
            let src = unit.src(arg);
            if !(src.starts_with("b\"")
                || src.starts_with("c\"")
                || src.starts_with("br")
                || src.starts_with("cr"))
            {
                return None;
            }
            Some((unit.src(recv).to_owned(), symbol_text(unit.name(arg))))
        }
        Kind::Call | Kind::Macro => {
            let at = cx.config.symbol_lookup(unit.name(i))?;
            let args: Vec<u32> = unit.children(i).collect();
            let name_arg = *args.get(at)?;
            // With the name as argument 0 (a configured macro), the library is implicit.
            let lib = if at == 0 {
                String::new()
            } else {
                unit.src(*args.first()?).to_owned()
            };
            let s = unit
                .subtree(name_arg)
                .find(|&k| unit.node(k).kind == Kind::Str)?;
            Some((lib, symbol_text(unit.name(s))))
        }
        _ => None,
    }
}

fn symbol_text(raw: &str) -> String {
    raw.trim_end_matches("\\0")
        .trim_end_matches('\0')
        .to_owned()
}
