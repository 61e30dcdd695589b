//! `static_resource`: a static that owns an OS resource which is never released.
//!
//! Rust never drops statics: a `static` (also `static mut` and `lazy_static!`'s `static ref`)
//! whose type is, or wraps through `Mutex`, `OnceLock`, `LazyLock`, `Option`, `Vec`, maps, …,
//! a resource owner (`File`, `Mmap`, `Library`, `OwnedFd`, `Child`, sockets, or any type of the
//! crate with a `Drop` impl, in whatever file) holds it until the process dies. `Weak` and
//! references own nothing; `thread_local!` values are dropped at thread exit. In C/C++ a
//! global or function-local `static` is destroyed at exit, so the shapes there are a static of
//! a class that holds raw handles (an `int fd_`, `HANDLE`, `FILE*`) but declares no destructor,
//! and a singleton allocated with `new` and never deleted whose class owns resources.

use crate::finding::Severity;
use crate::ir::{Kind, Lang, STATIC};
use crate::known;
use crate::rules::{Cx, Example, Hit, Rule};
use crate::summary::{STy, owned};

/// The rule.
pub const RULE: Rule = Rule {
    id: "static_resource",
    summary: "a static holds a value that owns an OS resource, whose cleanup never runs",
    why: "statics are never dropped: the file stays open, the mapping mapped and the library \
          loaded until the process exits, a leak checker reports it, and a test that expects the \
          file to be deletable (Windows) or unmapped fails",
    fix: "own the resource in a value with a lifetime (a registry passed around or held by the \
          caller) and hand out `Arc`s; keep only plain data or `Weak` references in statics",
    default_severity: Severity::Warning,
    examples: &[
        Example {
            lang: "rust",
            flagged: "static MAPS: LazyLock<Mutex<HashMap<PathBuf, Mmap>>> = LazyLock::new(Default::default);",
            fixed: "pub struct Registry { maps: Mutex<HashMap<PathBuf, Mmap>> } // owned by the caller, dropped with it",
        },
        Example {
            lang: "cpp",
            flagged: "static ModelCache* cache = new ModelCache(); // holds mmap'd files, never deleted",
            fixed: "static ModelCache cache; // destroyed at exit; ~ModelCache() unmaps",
        },
    ],
    check,
};

fn owns(cx: &Cx<'_, '_>, t: &STy) -> bool {
    if t.reference {
        return false;
    }
    t.is_or_wraps(
        // A crate's own `OnceLock` / `Mutex` with a `Drop` impl is still a wrapper: what it
        // owns is what its argument owns.
        &|name| {
            known::owns_os_resource(name)
                || cx.summary.drop_types.contains(name) && !known::WRAPPERS.contains(&name)
        },
        known::WRAPPERS,
    )
}

fn check(cx: &Cx<'_, '_>, hits: &mut Vec<Hit>) {
    let unit = cx.unit;
    match unit.lang {
        Lang::Rust => {
            for s in unit.statics.iter().filter(|s| !s.thread_local) {
                let t = owned(unit, s.ty);
                if owns(cx, &t) && !t.pointer {
                    let inner = owner_inside(cx, &t).unwrap_or(&t.name);
                    let message = if *inner == t.name {
                        format!(
                            "static `{}` holds `{inner}`, which owns an OS resource that is never released",
                            s.name
                        )
                    } else {
                        format!(
                            "static `{}` holds `{inner}` (inside `{}`), which owns an OS resource that is never released",
                            s.name, t.name
                        )
                    };
                    hits.push(Hit::span(s.name_span.0, s.name_span.1, message));
                }
            }
        }
        Lang::Cpp => {
            for s in unit.statics.iter().filter(|s| !s.thread_local) {
                let t = owned(unit, s.ty);
                if let Some(why) = cpp_static(cx, &t, s.leaked_new) {
                    hits.push(Hit::span(
                        s.name_span.0,
                        s.name_span.1,
                        format!("static `{}` {why}", s.name),
                    ));
                }
            }
            for f in &unit.functions {
                for i in unit.descendants(f.body) {
                    let n = unit.node(i);
                    if n.kind != Kind::Let || n.flags & STATIC == 0 {
                        continue;
                    }
                    let t = owned(unit, n.ty);
                    let leaked = unit.child(i, 0).is_some_and(|c| {
                        unit.node(c).kind == Kind::Construct && unit.src(c).starts_with("new")
                    });
                    if let Some(why) = cpp_static(cx, &t, leaked) {
                        hits.push(Hit::at(unit, i, format!("static `{}` {why}", unit.name(i))));
                    }
                }
            }
        }
    }
}

/// The resource-owning type inside `t` (itself, or the first one through the wrappers).
fn owner_inside<'a>(cx: &Cx<'_, '_>, t: &'a STy) -> Option<&'a String> {
    let wrapper = known::WRAPPERS.contains(&t.name.as_str());
    if known::owns_os_resource(&t.name) || !wrapper && cx.summary.drop_types.contains(&t.name) {
        return Some(&t.name);
    }
    if !known::WRAPPERS.contains(&t.name.as_str()) {
        return None;
    }
    t.args
        .iter()
        .filter(|a| !a.reference)
        .find_map(|a| owner_inside(cx, a))
}

fn cpp_static(cx: &Cx<'_, '_>, t: &STy, leaked_new: bool) -> Option<String> {
    let name = t.name.as_str();
    let holds = cx.summary.resource_types.contains(name);
    if leaked_new && (holds || cx.summary.drop_types.contains(name)) {
        return Some(format!(
            "is a `new {name}` never deleted: its OS resources are never released"
        ));
    }
    if !t.pointer && holds && !cx.summary.drop_types.contains(name) {
        return Some(format!(
            "holds OS resources in `{name}`, which has no destructor to release them"
        ));
    }
    None
}
