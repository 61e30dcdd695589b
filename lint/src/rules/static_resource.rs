//! `static_resource`: a `static` holding something that owns an OS resource.
//!
//! Statics are never dropped. A `static` (also `static mut`, `OnceLock`, `LazyLock`,
//! `once_cell::Lazy`, and `lazy_static! { static ref .. }`) whose type contains — anywhere in
//! its generic arguments — a file, mapping, fd / handle, library, socket or child process, or a
//! type of this file that implements `Drop`, is flagged. References (`&'static File`) own
//! nothing and are not flagged; neither is `thread_local!`, whose values are dropped at thread
//! exit.

use syn::parse::{ParseStream, Parser};
use syn::visit::Visit;
use syn::{Attribute, Ident, Token, Type, Visibility};

use crate::context::FileContext;
use crate::finding::Severity;
use crate::rules::{Hit, Rule};
use crate::syntax::{macro_name, type_name};

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
    check,
};

const RESOURCES: &[&str] = &[
    "File",
    "Mmap",
    "MmapMut",
    "MmapRaw",
    "OwnedFd",
    "OwnedHandle",
    "OwnedSocket",
    "RawFd",
    "RawHandle",
    "HANDLE",
    "HMODULE",
    "Library",
    "TcpListener",
    "TcpStream",
    "UdpSocket",
    "UnixStream",
    "UnixListener",
    "UnixDatagram",
    "Child",
    "ChildStdin",
    "ChildStdout",
    "ChildStderr",
    "PipeReader",
    "PipeWriter",
    "Dir",
    "ReadDir",
];

fn check(ctx: &FileContext<'_>) -> Vec<Hit> {
    let mut statics = Statics {
        ctx,
        hits: Vec::new(),
    };
    statics.visit_file(ctx.file);
    statics.hits
}

struct Statics<'c, 'a> {
    ctx: &'c FileContext<'a>,
    hits: Vec<Hit>,
}

impl Statics<'_, '_> {
    /// The owning resource type inside `ty`, if there is one.
    fn resource_in(&self, ty: &Type) -> Option<String> {
        match ty {
            Type::Path(p) => {
                let seg = p.path.segments.last()?;
                let name = seg.ident.to_string();
                if RESOURCES.contains(&name.as_str()) || self.ctx.drop_types.contains(&name) {
                    return Some(name);
                }
                if name == "Weak" {
                    return None;
                }
                match &seg.arguments {
                    syn::PathArguments::AngleBracketed(args) => {
                        args.args.iter().find_map(|a| match a {
                            syn::GenericArgument::Type(t) => self.resource_in(t),
                            _ => None,
                        })
                    }
                    _ => None,
                }
            }
            Type::Tuple(t) => t.elems.iter().find_map(|t| self.resource_in(t)),
            Type::Array(a) => self.resource_in(&a.elem),
            Type::Slice(s) => self.resource_in(&s.elem),
            Type::Paren(p) => self.resource_in(&p.elem),
            Type::Group(g) => self.resource_in(&g.elem),
            _ => None,
        }
    }

    fn flag(&mut self, name: &Ident, ty: &Type) {
        if let Some(resource) = self.resource_in(ty) {
            let shown = type_name(ty).unwrap_or_default();
            let via = if shown == resource {
                String::new()
            } else {
                format!(" (inside `{shown}`)")
            };
            self.hits.push(Hit::at(
                name.span(),
                format!("static `{name}` holds `{resource}`{via}, which owns an OS resource that is never released"),
            ));
        }
    }
}

/// One `static ref NAME: TYPE = EXPR;` of a `lazy_static!` body.
fn parse_lazy_static(input: ParseStream<'_>) -> syn::Result<Vec<(Ident, Type)>> {
    let mut out = Vec::new();
    while !input.is_empty() {
        let _attrs = input.call(Attribute::parse_outer)?;
        let _vis: Visibility = input.parse()?;
        input.parse::<Token![static]>()?;
        input.parse::<Token![ref]>()?;
        let name: Ident = input.parse()?;
        input.parse::<Token![:]>()?;
        let ty: Type = input.parse()?;
        input.parse::<Token![=]>()?;
        let _init: syn::Expr = input.parse()?;
        input.parse::<Token![;]>()?;
        out.push((name, ty));
    }
    Ok(out)
}

impl<'a> Visit<'a> for Statics<'_, '_> {
    fn visit_item_static(&mut self, node: &'a syn::ItemStatic) {
        self.flag(&node.ident, &node.ty);
        syn::visit::visit_item_static(self, node);
    }
    fn visit_macro(&mut self, mac: &'a syn::Macro) {
        if macro_name(mac) == "lazy_static" {
            if let Ok(entries) = parse_lazy_static.parse2(mac.tokens.clone()) {
                for (name, ty) in entries {
                    self.flag(&name, &ty);
                }
            }
        }
    }
}
