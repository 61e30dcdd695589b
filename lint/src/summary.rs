//! Facts gathered across the files of one crate or directory, so a rule in one file knows what
//! another declares: function return types, struct / class member types, which types have a
//! destructor or `Drop`, which own OS resources, which helper functions read the OS error.
//! Headers are files like any other, so a C++ class declared in `x.h` is known in `x.cpp`.

use std::collections::{HashMap, HashSet};

use crate::ir::{Kind, Unit};
use crate::known;

/// A type as written, owned (independent of the file it came from).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct STy {
    /// The last path segment.
    pub name: String,
    /// Generic / template arguments.
    pub args: Vec<STy>,
    /// A raw or C pointer.
    pub pointer: bool,
    /// A reference or `Weak`.
    pub reference: bool,
    /// An array or slice.
    pub array: bool,
}

impl STy {
    /// Whether the type is one of `names`, or wraps one through the wrappers in `through`.
    #[must_use]
    pub fn is_or_wraps(&self, names: &dyn Fn(&str) -> bool, through: &[&str]) -> bool {
        if names(&self.name) {
            return true;
        }
        through.contains(&self.name.as_str())
            && self.args.iter().any(|a| a.is_or_wraps(names, through))
    }

    /// Whether this is a 64-bit integer type (not a pointer).
    #[must_use]
    pub fn is_wide(&self) -> bool {
        !self.pointer && !self.array && known::is_wide_int(&self.name)
    }
}

/// The owned form of type `i` of `unit` (bounded depth).
#[must_use]
pub fn owned(unit: &Unit<'_>, i: u32) -> STy {
    fn go(unit: &Unit<'_>, i: u32, depth: usize) -> STy {
        let Some(t) = unit.ty(i) else {
            return STy::default();
        };
        STy {
            name: t.name.clone(),
            args: if depth > 24 {
                Vec::new()
            } else {
                t.args.iter().map(|&a| go(unit, a, depth + 1)).collect()
            },
            pointer: t.pointer,
            reference: t.reference,
            array: t.array,
        }
    }
    go(unit, i, 0)
}

/// What the files of one group declare.
#[derive(Debug, Default)]
pub struct Summary {
    /// Function name → its return types (one per definition seen).
    pub returns: HashMap<String, Vec<STy>>,
    /// (type, field) → the field's type.
    pub fields: HashMap<(String, String), STy>,
    /// Field name → the types of fields of that name, across all types.
    pub fields_by_name: HashMap<String, Vec<STy>>,
    /// Types with a `Drop` impl or a destructor.
    pub drop_types: HashSet<String>,
    /// Types that have a field owning an OS resource or holding a raw handle.
    pub resource_types: HashSet<String>,
    /// Functions whose body reads the OS error (`last_os_error`, `GetLastError`, `errno`).
    pub os_error_helpers: HashSet<String>,
    /// (type, method) for every method defined or declared in a type.
    pub methods: HashSet<(String, String)>,
    /// (type, method) for methods that start by returning early on the object's state
    /// (`if (mInited) return;`): calling them again is safe by design.
    pub guarded_methods: HashSet<(String, String)>,
}

impl Summary {
    /// Adds the facts of one unit.
    pub fn add(&mut self, unit: &Unit<'_>) {
        for f in &unit.functions {
            if let Some(owner) = &f.owner {
                self.methods.insert((owner.clone(), f.name.clone()));
                let guard = unit.children(f.body).next().is_some_and(|first| {
                    unit.node(first).kind == Kind::If
                        && unit.child(first, 1).is_some_and(|t| unit.always_exits(t))
                        && unit.child(first, 0).is_some_and(|c| {
                            unit.subtree(c)
                                .any(|k| matches!(unit.node(k).kind, Kind::Path | Kind::Field))
                        })
                });
                if guard {
                    self.guarded_methods.insert((owner.clone(), f.name.clone()));
                }
            }
            if f.ret != 0 {
                self.returns
                    .entry(f.name.clone())
                    .or_default()
                    .push(owned(unit, f.ret));
            }
            let reads = unit.subtree(f.body).any(|i| {
                let n = unit.node(i);
                match n.kind {
                    Kind::Call | Kind::Macro | Kind::Method => known::reads_os_error(unit.name(i)),
                    // `errno = EINVAL;` sets the error for the caller: a write, not a read.
                    Kind::Path => {
                        unit.lang == crate::ir::Lang::Cpp
                            && known::is_errno_ident(unit.name(i))
                            && !is_assign_target(unit, i)
                    }
                    _ => false,
                }
            });
            if reads {
                self.os_error_helpers.insert(f.name.clone());
            }
        }
        for (name, ret) in &unit.signatures {
            if *ret != 0 {
                self.returns
                    .entry(name.clone())
                    .or_default()
                    .push(owned(unit, *ret));
            }
        }
        for t in &unit.types {
            for m in &t.methods {
                self.methods.insert((t.name.clone(), m.clone()));
            }
            let mut resource = false;
            for (name, ty) in &t.fields {
                let sty = owned(unit, *ty);
                resource |= owns_resource_field(name, &sty);
                self.fields_by_name
                    .entry(name.clone())
                    .or_default()
                    .push(sty.clone());
                self.fields.insert((t.name.clone(), name.clone()), sty);
            }
            if resource {
                self.resource_types.insert(t.name.clone());
            }
            if t.has_dtor {
                self.drop_types.insert(t.name.clone());
            }
        }
        for d in &unit.drop_impls {
            self.drop_types.insert(d.clone());
        }
    }

    /// Whether every definition of `name` seen returns a 64-bit integer.
    #[must_use]
    pub fn returns_wide(&self, name: &str) -> bool {
        self.returns.get(name).is_some_and(|r| {
            !r.is_empty()
                && r.iter().all(|t| {
                    t.is_wide()
                        || (t.name == "Result" || t.name == "Option" || t.name == "optional")
                            && t.args.first().is_some_and(STy::is_wide)
                })
        })
    }

    /// Whether every field named `field` (any type) is 64-bit.
    #[must_use]
    pub fn field_wide(&self, field: &str) -> bool {
        self.fields_by_name
            .get(field)
            .is_some_and(|v| !v.is_empty() && v.iter().all(STy::is_wide))
    }

    /// The type of `owner.field`, if declared.
    #[must_use]
    pub fn field(&self, owner: &str, field: &str) -> Option<&STy> {
        self.fields.get(&(owner.to_owned(), field.to_owned()))
    }
}

/// Whether a field of this name and type holds an OS resource: an owning type, or a raw
/// handle (`HANDLE`, `HMODULE`, `FILE*`, an `int` named like a descriptor).
fn owns_resource_field(name: &str, ty: &STy) -> bool {
    if ty.reference {
        return false;
    }
    if ty.is_or_wraps(&known::owns_os_resource, known::WRAPPERS) {
        return true;
    }
    let lower = name.to_ascii_lowercase();
    match ty.name.as_str() {
        "HANDLE" | "HMODULE" | "HINSTANCE" | "HKEY" | "SOCKET" => true,
        "FILE" | "DIR" => ty.pointer,
        "int" | "RawFd" | "c_int" => {
            lower == "fd"
                || lower.ends_with("_fd")
                || lower.starts_with("fd_")
                || lower.ends_with("fd_")
        }
        _ => false,
    }
}

/// Whether node `i` is the left-hand side of an assignment.
fn is_assign_target(unit: &Unit<'_>, i: u32) -> bool {
    let parent = unit.parent(i);
    parent != i && unit.node(parent).kind == Kind::Assign && unit.child(parent, 0) == Some(i)
}
