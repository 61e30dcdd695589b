//! The Rust front-end: `syn` parses, this module lowers the tree into the [`Unit`] IR.
//!
//! Before `syn` sees the text, [`crate::lex::scan`] bounds the depth of the tree it would
//! build; deeper input is refused with a `parse_error` instead of overflowing the stack. A file
//! `syn` rejects is split at its top-level items and each item parsed on its own, so one bad
//! item degrades to the items around it (reported as a `parse_error` at the bad one).
//!
//! Node ranges are computed bottom-up from the tokens each node owns and its children's
//! ranges: `syn`'s `Spanned::span()` walks a node's whole token stream, which made the old
//! analyzer quadratic on long expressions.

use proc_macro2::{LineColumn, Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::punctuated::Punctuated;
use syn::{Expr, Pat, Stmt, Type};

use crate::ir::{self, Builder, FnKind, Function, Kind, Lang, Op, Static, Sym, Ty, TypeDecl, Unit};
use crate::lex;
use crate::source::{LineIndex, ParseFailure};

/// Lowers a Rust file. `Err` when nothing could be analyzed; a partly broken file is `Ok`
/// with the broken regions in [`Unit::broken`].
///
/// # Errors
/// A [`ParseFailure`] when the file is too deeply nested or no item of it parses.
pub fn lower<'t>(text: &'t str, index: &LineIndex<'t>) -> Result<Unit<'t>, ParseFailure> {
    let shape = lex::scan(text);
    if let Some((offset, message)) = shape.too_deep {
        let (line, column) = index.line_col(offset);
        return Err(ParseFailure {
            line,
            column: column + 1,
            message: format!("{message}; not analyzed"),
        });
    }
    let mut unit = Unit::new(Lang::Rust, text);
    match syn::parse_file(text) {
        Ok(file) => {
            let base = usize::from(text.starts_with('\u{feff}')) * 3;
            let mut lowerer = Lowerer::new(&mut unit, index, base, 1);
            lowerer.items(&file.items);
            Ok(unit)
        }
        Err(whole) => {
            let whole_at = whole.span().start();
            let whole = (whole_at.line.max(1), whole_at.column, whole.to_string());
            // Degrade: parse each top-level item on its own. Each parse's spans are dropped
            // right after lowering it: proc-macro2 finds a span's file by a linear search over
            // every file parsed on the thread, which made many small parses quadratic.
            proc_macro2::extra::invalidate_current_thread_spans();
            let mut start = 0;
            let mut analyzed = 0;
            let mut first_failure = None;
            for &end in &shape.item_ends {
                let Some(chunk) = text.get(start..end) else {
                    continue;
                };
                if chunk.trim().is_empty() {
                    start = end;
                    continue;
                }
                match syn::parse_file(chunk) {
                    Ok(file) => {
                        let first_line = index.line_col(start).0;
                        let mut lowerer = Lowerer::new(&mut unit, index, start, first_line);
                        lowerer.items(&file.items);
                        analyzed += 1;
                    }
                    Err(e) => {
                        let at = e.span().start();
                        let line = index.line_col(start).0 + at.line.saturating_sub(1);
                        unit.broken
                            .push((u32::try_from(start).unwrap_or(u32::MAX), e.to_string()));
                        first_failure.get_or_insert((line, at.column, e.to_string()));
                    }
                }
                proc_macro2::extra::invalidate_current_thread_spans();
                start = end;
            }
            let failure = first_failure.unwrap_or(whole);
            let mut message = failure.2;
            if message == "cannot parse string into token stream" {
                // proc-macro2's lexer error says nothing more; this is what it means.
                message = "unbalanced delimiters or an invalid token".to_owned();
            }
            if analyzed == 0 {
                return Err(ParseFailure {
                    line: failure.0.max(1),
                    column: failure.1 + 1,
                    message,
                });
            }
            unit.broken.clear();
            let offset = index.offset(failure.0, failure.1);
            unit.broken
                .push((u32::try_from(offset).unwrap_or(u32::MAX), message));
            Ok(unit)
        }
    }
}

struct Lowerer<'u, 't, 'i> {
    unit: &'u mut Unit<'t>,
    index: &'i LineIndex<'t>,
    b: Builder,
    /// Byte offset and line of the parsed chunk within the file.
    base: usize,
    base_line: usize,
    /// Nested functions met in bodies, lowered after the current one.
    pending: Vec<syn::Item>,
}

/// `impl` context of the items being lowered.
#[derive(Clone, Default)]
struct ImplCx {
    owner: Option<String>,
    trait_name: Option<String>,
    cfg: String,
}

impl<'u, 't, 'i> Lowerer<'u, 't, 'i> {
    fn new(
        unit: &'u mut Unit<'t>,
        index: &'i LineIndex<'t>,
        base: usize,
        base_line: usize,
    ) -> Self {
        Lowerer {
            unit,
            index,
            b: Builder::new(),
            base,
            base_line,
            pending: Vec::new(),
        }
    }

    fn pos(&self, lc: LineColumn) -> usize {
        let line = self.base_line + lc.line.saturating_sub(1);
        let column = if lc.line <= 1 {
            // The chunk's first line may start mid-line (or after a byte-order mark).
            self.index.line_col(self.base).1 + lc.column
        } else {
            lc.column
        };
        self.index.offset(line, column)
    }

    fn range(&self, span: Span) -> (usize, usize) {
        (self.pos(span.start()), self.pos(span.end()))
    }

    fn sym(&self, span: Span) -> Sym {
        let (s, e) = self.range(span);
        Sym::of(s..e)
    }

    fn ident_sym(&self, ident: &syn::Ident) -> Sym {
        let (mut s, e) = self.range(ident.span());
        if self
            .unit
            .text
            .get(s..e)
            .is_some_and(|t| t.starts_with("r#"))
        {
            s += 2;
        }
        Sym::of(s..e)
    }

    /// Widens node `id`'s range to cover `r`.
    fn cover(&mut self, id: u32, r: (usize, usize)) {
        let n = &mut self.unit.nodes[id as usize];
        let (s, e) = (
            u32::try_from(r.0).unwrap_or(u32::MAX),
            u32::try_from(r.1).unwrap_or(u32::MAX),
        );
        if n.start == u32::MAX || s < n.start {
            n.start = s;
        }
        if e > n.end || n.end == u32::MAX {
            n.end = e;
        }
    }

    fn open(&mut self, kind: Kind) -> u32 {
        let id = self.b.open(self.unit, kind, (usize::MAX, 0));
        self.unit.nodes[id as usize].start = u32::MAX;
        id
    }

    /// Closes `id`, widening it to its children's ranges and the tokens in `own`.
    fn close(&mut self, id: u32, own: &[Span]) {
        for s in own {
            let r = self.range(*s);
            self.cover(id, r);
        }
        let mut child = id + 1;
        let end = u32::try_from(self.unit.nodes.len()).unwrap_or(u32::MAX);
        while child < end {
            let n = self.unit.nodes[child as usize];
            if n.start != u32::MAX {
                self.cover(id, (n.start as usize, n.end as usize));
            }
            child = n.last;
        }
        if self.unit.nodes[id as usize].start == u32::MAX {
            self.unit.nodes[id as usize].start = self.unit.nodes[id as usize].end;
        }
        self.b.close(self.unit);
    }

    fn set_name(&mut self, id: u32, name: Sym, qual: Sym) {
        let n = &mut self.unit.nodes[id as usize];
        n.name = name;
        n.qual = qual;
    }

    // ---- types ----

    fn ty(&mut self, ty: &Type) -> u32 {
        let t = self.lower_ty(ty);
        ir::add_ty(self.unit, t)
    }

    fn lower_ty(&mut self, ty: &Type) -> Ty {
        match ty {
            Type::Reference(r) => Ty {
                reference: true,
                ..self.lower_ty(&r.elem)
            },
            Type::Paren(p) => self.lower_ty(&p.elem),
            Type::Group(g) => self.lower_ty(&g.elem),
            Type::Ptr(p) => Ty {
                pointer: true,
                ..self.lower_ty(&p.elem)
            },
            Type::Array(a) => {
                let elem = self.ty(&a.elem);
                Ty {
                    name: "[]".to_owned(),
                    args: vec![elem],
                    array: true,
                    ..Ty::default()
                }
            }
            Type::Slice(a) => {
                let elem = self.ty(&a.elem);
                Ty {
                    name: "[]".to_owned(),
                    args: vec![elem],
                    array: true,
                    ..Ty::default()
                }
            }
            Type::Path(p) => {
                let Some(seg) = p.path.segments.last() else {
                    return Ty::default();
                };
                let mut args = Vec::new();
                if let syn::PathArguments::AngleBracketed(a) = &seg.arguments {
                    for arg in &a.args {
                        if let syn::GenericArgument::Type(t) = arg {
                            args.push(self.ty(t));
                        }
                    }
                }
                let name = seg.ident.to_string();
                Ty {
                    reference: name == "Weak",
                    name,
                    args,
                    ..Ty::default()
                }
            }
            Type::Tuple(t) => {
                let args = t.elems.iter().map(|e| self.ty(e)).collect();
                Ty {
                    name: "()".to_owned(),
                    args,
                    ..Ty::default()
                }
            }
            _ => Ty::default(),
        }
    }

    // ---- items ----

    fn items(&mut self, items: &[syn::Item]) {
        for item in items {
            self.item(item, &ImplCx::default());
        }
        while let Some(item) = self.pending.pop() {
            self.item(&item, &ImplCx::default());
        }
    }

    fn item(&mut self, item: &syn::Item, cx: &ImplCx) {
        match item {
            syn::Item::Fn(f) => {
                let vis = !matches!(f.vis, syn::Visibility::Inherited);
                let span = (
                    self.attrs_start(&f.attrs, f.sig.fn_token.span),
                    self.range(f.block.brace_token.span.close()).1,
                );
                self.function(
                    &f.sig,
                    &f.block,
                    &ImplCx {
                        cfg: cfg_of(&f.attrs),
                        ..ImplCx::default()
                    },
                    vis,
                    span,
                );
            }
            syn::Item::Impl(i) => {
                let owner = type_name(&i.self_ty);
                let trait_name = i
                    .trait_
                    .as_ref()
                    .and_then(|(_, p, _)| p.segments.last().map(|s| s.ident.to_string()));
                if trait_name.as_deref() == Some("Drop") {
                    if let Some(o) = &owner {
                        self.unit.drop_impls.push(o.clone());
                    }
                }
                let cfg = join_cfg(&cx.cfg, &cfg_of(&i.attrs));
                let inner = ImplCx {
                    owner,
                    trait_name,
                    cfg,
                };
                let start = self.attrs_start(&i.attrs, i.impl_token.span);
                let end = self.range(i.brace_token.span.close()).1;
                self.extent(start, end);
                for it in &i.items {
                    if let syn::ImplItem::Fn(f) = it {
                        let vis = inner.trait_name.is_some()
                            || !matches!(f.vis, syn::Visibility::Inherited);
                        let cx = ImplCx {
                            cfg: join_cfg(&inner.cfg, &cfg_of(&f.attrs)),
                            ..inner.clone()
                        };
                        let span = (
                            self.attrs_start(&f.attrs, f.sig.fn_token.span),
                            self.range(f.block.brace_token.span.close()).1,
                        );
                        self.function(&f.sig, &f.block, &cx, vis, span);
                    }
                }
            }
            syn::Item::Trait(t) => {
                for it in &t.items {
                    if let syn::TraitItem::Fn(f) = it {
                        if let Some(block) = &f.default {
                            let span = (
                                self.attrs_start(&f.attrs, f.sig.fn_token.span),
                                self.range(block.brace_token.span.close()).1,
                            );
                            self.function(
                                &f.sig,
                                block,
                                &ImplCx {
                                    cfg: cfg_of(&f.attrs),
                                    ..ImplCx::default()
                                },
                                true,
                                span,
                            );
                        }
                    }
                }
            }
            syn::Item::Struct(s) => {
                let start = self.attrs_start(&s.attrs, s.struct_token.span);
                let end = match &s.fields {
                    syn::Fields::Named(n) => self.range(n.brace_token.span.close()).1,
                    _ => s.semi_token.map_or(start, |t| self.range(t.span).1),
                };
                self.type_decl(s.ident.to_string(), &s.fields, (start, end));
            }
            syn::Item::Union(u) => {
                let start = self.attrs_start(&u.attrs, u.union_token.span);
                let end = self.range(u.fields.brace_token.span.close()).1;
                self.type_decl(
                    u.ident.to_string(),
                    &syn::Fields::Named(u.fields.clone()),
                    (start, end),
                );
            }
            syn::Item::Static(s) => {
                let start = self.attrs_start(&s.attrs, s.static_token.span);
                let end = self.range(s.semi_token.span).1;
                let ty = self.ty(&s.ty);
                self.extent(start, end);
                let name = self.range(s.ident.span());
                self.unit.statics.push(Static {
                    name: s.ident.to_string(),
                    ty,
                    span: (to_u32(start), to_u32(end)),
                    name_span: (to_u32(name.0), to_u32(name.1)),
                    thread_local: false,
                    leaked_new: false,
                });
            }
            syn::Item::Mod(m) => {
                if let Some((_, items)) = &m.content {
                    for it in items {
                        self.item(it, cx);
                    }
                }
            }
            syn::Item::Macro(m) => self.item_macro(&m.mac),
            _ => {}
        }
    }

    fn attrs_start(&self, attrs: &[syn::Attribute], fallback: Span) -> usize {
        attrs.first().map_or_else(
            || self.range(fallback).0,
            |a| self.range(a.pound_token.span).0,
        )
    }

    fn extent(&mut self, start: usize, end: usize) {
        self.unit.extents.push((to_u32(start), to_u32(end)));
    }

    fn type_decl(&mut self, name: String, fields: &syn::Fields, span: (usize, usize)) {
        self.extent(span.0, span.1);
        let mut decl = TypeDecl {
            name,
            span: (to_u32(span.0), to_u32(span.1)),
            ..TypeDecl::default()
        };
        for (i, f) in fields.iter().enumerate() {
            let fname = f
                .ident
                .as_ref()
                .map_or_else(|| i.to_string(), ToString::to_string);
            let ty = self.ty(&f.ty);
            let start = f.attrs.first().map_or_else(
                || {
                    f.ident
                        .as_ref()
                        .map_or(span.0, |id| self.range(id.span()).0)
                },
                |a| self.range(a.pound_token.span).0,
            );
            let end = self.range(type_end_span(&f.ty)).1;
            self.extent(start, end);
            decl.fields.push((fname, ty));
        }
        self.unit.types.push(decl);
    }

    /// `lazy_static! { static ref X: T = e; }` and `thread_local! { static X: T = e; }`.
    fn item_macro(&mut self, mac: &syn::Macro) {
        let name = mac
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        if !matches!(name.as_str(), "lazy_static" | "thread_local") {
            return;
        }
        let Ok(decls) = mac.parse_body_with(MacroStatics::parse) else {
            return;
        };
        for d in decls.0 {
            let ty = self.ty(&d.ty);
            let (start, end) = (self.range(d.start).0, self.range(d.end).1);
            self.extent(start, end);
            let at = self.range(d.name_span);
            self.unit.statics.push(Static {
                name: d.name,
                ty,
                span: (to_u32(start), to_u32(end)),
                name_span: (to_u32(at.0), to_u32(at.1)),
                thread_local: name == "thread_local",
                leaked_new: false,
            });
        }
    }

    fn function(
        &mut self,
        sig: &syn::Signature,
        block: &syn::Block,
        cx: &ImplCx,
        is_pub: bool,
        span: (usize, usize),
    ) {
        self.extent(span.0, span.1);
        let mut params = Vec::new();
        let mut has_self = false;
        let mut consumes_self = false;
        for input in &sig.inputs {
            match input {
                syn::FnArg::Receiver(r) => {
                    has_self = true;
                    consumes_self = r.reference.is_none() && !matches!(&*r.ty, Type::Reference(_));
                }
                syn::FnArg::Typed(t) => {
                    if let Pat::Ident(p) = &*t.pat {
                        let ty = self.ty(&t.ty);
                        params.push((p.ident.to_string(), ty));
                    }
                }
            }
        }
        let ret = match &sig.output {
            syn::ReturnType::Type(_, t) => self.ty(t),
            syn::ReturnType::Default => 0,
        };
        let name = sig.ident.to_string();
        let returns_self = cx.owner.is_some()
            && !has_self
            && self.ty_mentions(ret, cx.owner.as_deref().unwrap_or("Self"));
        let kind = if cx.trait_name.as_deref() == Some("Drop") && name == "drop" {
            FnKind::Dtor
        } else if returns_self {
            FnKind::Ctor
        } else {
            FnKind::Plain
        };
        let body = self.block(block, false);
        self.unit.functions.push(Function {
            name,
            owner: cx.owner.clone(),
            trait_name: cx.trait_name.clone(),
            is_pub,
            kind,
            consumes_self,
            params,
            ret,
            body,
            cfg: cx.cfg.clone(),
            span: (to_u32(span.0), to_u32(span.1)),
        });
    }

    fn ty_mentions(&self, ty: u32, owner: &str) -> bool {
        let Some(t) = self.unit.ty(ty) else {
            return false;
        };
        t.name == "Self" || t.name == owner || t.args.iter().any(|&a| self.ty_mentions(a, owner))
    }

    // ---- bodies ----

    fn block(&mut self, block: &syn::Block, unsafe_: bool) -> u32 {
        let id = self.open(Kind::Block);
        if unsafe_ {
            self.unit.nodes[id as usize].flags |= ir::UNSAFE;
        }
        for stmt in &block.stmts {
            let before = self.unit.nodes.len();
            self.stmt(stmt);
            if self.unit.nodes.len() > before {
                let n = self.unit.nodes[before];
                self.unit.extents.push((n.start, n.end));
            }
        }
        self.close(id, &[block.brace_token.span.join()]);
        id
    }

    fn stmt(&mut self, stmt: &Stmt) {
        match stmt {
            Stmt::Local(local) => {
                let id = self.open(Kind::Let);
                let (pat, declared) = match &local.pat {
                    Pat::Type(t) => (&*t.pat, Some(&*t.ty)),
                    other => (other, None),
                };
                if let Pat::Ident(p) = pat {
                    let name = self.ident_sym(&p.ident);
                    self.set_name(id, name, Sym::NONE);
                    if p.mutability.is_some() {
                        self.unit.nodes[id as usize].flags |= ir::MUT;
                    }
                }
                if let Some(t) = declared {
                    let ty = self.ty(t);
                    self.unit.nodes[id as usize].ty = ty;
                }
                let cfg = cfg_of(&local.attrs);
                let cfg = ir::add_cfg(self.unit, cfg);
                self.unit.nodes[id as usize].cfg = cfg;
                match &local.init {
                    Some(init) => {
                        self.expr(&init.expr);
                        if let Some((_, diverge)) = &init.diverge {
                            self.expr(diverge);
                        }
                    }
                    None => self.unit.nodes[id as usize].flags |= ir::NO_INIT,
                }
                let start = local
                    .attrs
                    .first()
                    .map_or(local.let_token.span, |a| a.pound_token.span);
                self.close(id, &[start, local.semi_token.span]);
            }
            Stmt::Item(item) => {
                if matches!(
                    item,
                    syn::Item::Fn(_)
                        | syn::Item::Impl(_)
                        | syn::Item::Struct(_)
                        | syn::Item::Static(_)
                        | syn::Item::Macro(_)
                        | syn::Item::Mod(_)
                ) {
                    self.pending.push(item.clone());
                }
            }
            Stmt::Expr(e, _) => self.expr(e),
            // `thread_local! { static X: T = e; }` inside a function declares statics as at
            // the top level (its body would otherwise lower as a block holding a plain
            // `static`, losing that the value is dropped at thread exit).
            Stmt::Macro(m)
                if m.mac
                    .path
                    .segments
                    .last()
                    .is_some_and(|s| s.ident == "thread_local" || s.ident == "lazy_static") =>
            {
                self.item_macro(&m.mac);
            }
            Stmt::Macro(m) => {
                let cfg = ir::add_cfg(self.unit, cfg_of(&m.attrs));
                let id = self.mac(&m.mac);
                self.unit.nodes[id as usize].cfg = cfg;
            }
        }
    }

    fn exprs<'e>(&mut self, es: impl IntoIterator<Item = &'e Expr>) {
        for e in es {
            self.expr(e);
        }
    }

    fn path_node(&mut self, path: &syn::Path, kind: Kind) -> u32 {
        let id = self.open(kind);
        let n = path.segments.len();
        if let Some(last) = path.segments.last() {
            let name = self.ident_sym(&last.ident);
            let qual = if n >= 2 {
                path.segments
                    .iter()
                    .nth(n - 2)
                    .map_or(Sym::NONE, |s| self.ident_sym(&s.ident))
            } else {
                Sym::NONE
            };
            self.set_name(id, name, qual);
            // `MaybeUninit::<T>::uninit()`: remember the turbofish type.
            for seg in &path.segments {
                if let syn::PathArguments::AngleBracketed(a) = &seg.arguments {
                    if let Some(syn::GenericArgument::Type(t)) = a.args.first() {
                        let ty = self.ty(t);
                        self.unit.nodes[id as usize].ty = ty;
                    }
                }
            }
        }
        id
    }

    fn path_spans(path: &syn::Path) -> Vec<Span> {
        let mut v = Vec::new();
        if let Some(c) = path.leading_colon {
            v.push(c.spans[0]);
        }
        if let Some(f) = path.segments.first() {
            v.push(f.ident.span());
        }
        if let Some(l) = path.segments.last() {
            v.push(l.ident.span());
            if let syn::PathArguments::AngleBracketed(a) = &l.arguments {
                v.push(a.gt_token.span);
            }
        }
        v
    }

    fn expr(&mut self, e: &Expr) {
        match e {
            Expr::Array(a) => {
                let id = self.open(Kind::Other);
                self.exprs(&a.elems);
                self.close(id, &[a.bracket_token.span.join()]);
            }
            Expr::Assign(a) => {
                let id = self.open(Kind::Assign);
                self.expr(&a.left);
                self.expr(&a.right);
                self.close(id, &[a.eq_token.span]);
            }
            Expr::Async(a) => {
                let id = self.open(Kind::Closure);
                self.block(&a.block, false);
                self.close(id, &[a.async_token.span]);
            }
            Expr::Await(a) => {
                let id = self.open(Kind::Other);
                self.expr(&a.base);
                self.close(id, &[a.await_token.span]);
            }
            Expr::Binary(b) => {
                let (kind, op, compound) = bin_op(&b.op);
                let id = self.open(kind);
                self.unit.nodes[id as usize].op = op;
                if compound {
                    self.unit.nodes[id as usize].flags |= ir::COMPOUND;
                }
                self.expr(&b.left);
                self.expr(&b.right);
                self.close(id, &[]);
            }
            Expr::Block(b) => {
                self.block(&b.block, false);
            }
            Expr::Break(b) => {
                let id = self.open(Kind::Other);
                if let Some(x) = &b.expr {
                    self.expr(x);
                }
                self.close(id, &[b.break_token.span]);
            }
            Expr::Call(c) => {
                let id = match &*c.func {
                    Expr::Path(p) => {
                        let id = self.path_node(&p.path, Kind::Call);
                        let spans = Self::path_spans(&p.path);
                        for s in spans {
                            let r = self.range(s);
                            self.cover(id, r);
                        }
                        id
                    }
                    other => {
                        let id = self.open(Kind::Call);
                        self.expr(other);
                        id
                    }
                };
                self.exprs(&c.args);
                self.close(id, &[c.paren_token.span.join()]);
            }
            Expr::Cast(c) => {
                let id = self.open(Kind::Cast);
                let ty = self.ty(&c.ty);
                self.unit.nodes[id as usize].ty = ty;
                self.expr(&c.expr);
                self.close(id, &[c.as_token.span, type_end_span(&c.ty)]);
            }
            Expr::Closure(c) => {
                let id = self.open(Kind::Closure);
                for input in &c.inputs {
                    self.params(input, false);
                }
                self.expr(&c.body);
                self.close(id, &[c.or1_token.span]);
            }
            Expr::Const(c) => {
                self.block(&c.block, false);
            }
            Expr::Continue(c) => {
                let id = self.open(Kind::Other);
                self.close(id, &[c.continue_token.span]);
            }
            Expr::Field(f) => {
                let id = self.open(Kind::Field);
                let name = match &f.member {
                    syn::Member::Named(i) => self.ident_sym(i),
                    syn::Member::Unnamed(i) => self.sym(i.span),
                };
                self.set_name(id, name, Sym::NONE);
                self.expr(&f.base);
                let member_span = match &f.member {
                    syn::Member::Named(i) => i.span(),
                    syn::Member::Unnamed(i) => i.span,
                };
                self.close(id, &[member_span]);
            }
            Expr::ForLoop(f) => {
                let id = self.open(Kind::Loop);
                self.unit.nodes[id as usize].flags |= ir::FOR;
                self.params(&f.pat, false);
                self.expr(&f.expr);
                self.block(&f.body, false);
                self.close(id, &[f.for_token.span]);
            }
            Expr::Group(g) => self.expr(&g.expr),
            Expr::If(i) => {
                let id = self.open(Kind::If);
                self.expr(&i.cond);
                self.block(&i.then_branch, false);
                if let Some((_, els)) = &i.else_branch {
                    self.unit.nodes[id as usize].flags |= ir::HAS_ELSE;
                    self.expr(els);
                }
                self.close(id, &[i.if_token.span]);
            }
            Expr::Index(i) => {
                let id = self.open(Kind::Index);
                self.expr(&i.expr);
                self.expr(&i.index);
                self.close(id, &[i.bracket_token.span.join()]);
            }
            Expr::Let(l) => {
                let id = self.open(Kind::Other);
                self.params(&l.pat, false);
                self.expr(&l.expr);
                self.close(id, &[l.let_token.span]);
            }
            Expr::Lit(l) => self.lit(&l.lit),
            Expr::Loop(l) => {
                let id = self.open(Kind::Loop);
                self.block(&l.body, false);
                self.close(id, &[l.loop_token.span]);
            }
            Expr::Macro(m) => {
                self.mac(&m.mac);
            }
            Expr::Match(m) => {
                let id = self.open(Kind::Match);
                self.expr(&m.expr);
                for arm in &m.arms {
                    let a = self.open(Kind::Arm);
                    let pat = self.sym(pat_span(&arm.pat));
                    self.set_name(a, pat, Sym::NONE);
                    if let Some((_, g)) = &arm.guard {
                        self.expr(g);
                    }
                    self.expr(&arm.body);
                    self.close(a, &[pat_span(&arm.pat), arm.fat_arrow_token.spans[0]]);
                    let n = self.unit.nodes[a as usize];
                    self.unit.extents.push((n.start, n.end));
                }
                self.close(id, &[m.match_token.span, m.brace_token.span.join()]);
            }
            Expr::MethodCall(m) => {
                let id = self.open(Kind::Method);
                let name = self.ident_sym(&m.method);
                self.set_name(id, name, Sym::NONE);
                if let Some(t) = &m.turbofish {
                    if let Some(syn::GenericArgument::Type(t)) = t.args.first() {
                        let ty = self.ty(t);
                        self.unit.nodes[id as usize].ty = ty;
                    }
                }
                self.expr(&m.receiver);
                self.exprs(&m.args);
                self.close(id, &[m.method.span(), m.paren_token.span.join()]);
            }
            Expr::Paren(p) => {
                let id = self.open(Kind::Other);
                self.expr(&p.expr);
                self.close(id, &[p.paren_token.span.join()]);
            }
            Expr::Path(p) => {
                let id = self.path_node(&p.path, Kind::Path);
                let spans = Self::path_spans(&p.path);
                self.close(id, &spans);
            }
            Expr::Range(r) => {
                let id = self.open(Kind::Other);
                if let Some(s) = &r.start {
                    self.expr(s);
                }
                if let Some(s) = &r.end {
                    self.expr(s);
                }
                self.close(id, &[]);
            }
            Expr::RawAddr(r) => {
                let id = self.open(Kind::Unary);
                self.unit.nodes[id as usize].op = Op::Ref;
                self.expr(&r.expr);
                self.close(id, &[r.and_token.span]);
            }
            Expr::Reference(r) => {
                let id = self.open(Kind::Unary);
                self.unit.nodes[id as usize].op = Op::Ref;
                self.expr(&r.expr);
                self.close(id, &[r.and_token.span]);
            }
            Expr::Repeat(r) => {
                let id = self.open(Kind::Other);
                self.expr(&r.expr);
                self.expr(&r.len);
                self.close(id, &[r.bracket_token.span.join()]);
            }
            Expr::Return(r) => {
                let id = self.open(Kind::Return);
                if let Some(x) = &r.expr {
                    self.expr(x);
                }
                self.close(id, &[r.return_token.span]);
            }
            Expr::Struct(s) => {
                let id = self.path_node(&s.path, Kind::Construct);
                for f in &s.fields {
                    self.expr(&f.expr);
                }
                if let Some(rest) = &s.rest {
                    self.expr(rest);
                }
                let spans = Self::path_spans(&s.path);
                let mut own = spans;
                own.push(s.brace_token.span.join());
                self.close(id, &own);
            }
            Expr::Try(t) => {
                let id = self.open(Kind::Try);
                self.expr(&t.expr);
                self.close(id, &[t.question_token.span]);
            }
            Expr::TryBlock(t) => {
                let id = self.open(Kind::Closure);
                self.block(&t.block, false);
                self.close(id, &[t.try_token.span]);
            }
            Expr::Tuple(t) => {
                let id = self.open(Kind::Other);
                self.exprs(&t.elems);
                self.close(id, &[t.paren_token.span.join()]);
            }
            Expr::Unary(u) => {
                let id = self.open(Kind::Unary);
                let (op, span) = match &u.op {
                    syn::UnOp::Deref(t) => (Op::Deref, t.span),
                    syn::UnOp::Not(t) => (Op::Not, t.span),
                    syn::UnOp::Neg(t) => (Op::Neg, t.span),
                    _ => (Op::None, Span::call_site()),
                };
                self.unit.nodes[id as usize].op = op;
                self.expr(&u.expr);
                self.close(id, &[span]);
            }
            Expr::Unsafe(u) => {
                let id = self.block(&u.block, true);
                let r = self.range(u.unsafe_token.span);
                self.cover(id, r);
            }
            Expr::While(w) => {
                let id = self.open(Kind::Loop);
                self.expr(&w.cond);
                self.block(&w.body, false);
                self.close(id, &[w.while_token.span]);
            }
            Expr::Yield(y) => {
                let id = self.open(Kind::Other);
                if let Some(x) = &y.expr {
                    self.expr(x);
                }
                self.close(id, &[y.yield_token.span]);
            }
            _ => {
                let id = self.open(Kind::Other);
                self.close(id, &[]);
            }
        }
    }

    fn lit(&mut self, lit: &syn::Lit) {
        let span = lit.span();
        let (s, e) = self.range(span);
        let text = self.unit.text.get(s..e).unwrap_or("");
        let (kind, name) = match lit {
            syn::Lit::Str(_) | syn::Lit::ByteStr(_) | syn::Lit::CStr(_) => {
                // The contents between the quotes (escapes as written).
                let open = text.find('"').map_or(0, |i| i + 1);
                let close = text.rfind('"').unwrap_or(text.len()).max(open);
                (Kind::Str, Sym::of(s + open..s + close))
            }
            _ => (Kind::Lit, Sym::of(s..e)),
        };
        let id = self.open(kind);
        self.set_name(id, name, Sym::NONE);
        self.close(id, &[span]);
    }

    /// Bindings of a closure parameter or a `for` pattern as [`Kind::Param`] nodes.
    fn params(&mut self, pat: &Pat, in_tuple: bool) {
        match pat {
            Pat::Ident(p) => {
                let id = self.open(Kind::Param);
                let name = self.ident_sym(&p.ident);
                self.set_name(id, name, Sym::NONE);
                if in_tuple {
                    self.unit.nodes[id as usize].flags |= ir::KEY;
                }
                self.close(id, &[p.ident.span()]);
            }
            Pat::Type(t) => {
                let before = self.unit.nodes.len();
                self.params(&t.pat, in_tuple);
                if self.unit.nodes.len() > before {
                    let ty = self.ty(&t.ty);
                    self.unit.nodes[before].ty = ty;
                }
            }
            Pat::Reference(r) => self.params(&r.pat, in_tuple),
            Pat::Tuple(t) => {
                for (i, elem) in t.elems.iter().enumerate() {
                    if i == 0 {
                        self.params(elem, true);
                    } else {
                        self.params(elem, false);
                    }
                }
            }
            Pat::TupleStruct(t) => {
                for elem in &t.elems {
                    self.params(elem, false);
                }
            }
            _ => {}
        }
    }

    fn mac(&mut self, mac: &syn::Macro) -> u32 {
        let name = mac
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        let kind = if is_exit_macro(&name) {
            Kind::Exit
        } else {
            Kind::Macro
        };
        let id = self.path_node(&mac.path, kind);
        let spans = Self::path_spans(&mac.path);
        let delim = match &mac.delimiter {
            syn::MacroDelimiter::Paren(p) => p.span.join(),
            syn::MacroDelimiter::Brace(b) => b.span.join(),
            syn::MacroDelimiter::Bracket(b) => b.span.join(),
        };
        if let Ok(list) = mac.parse_body_with(Punctuated::<Expr, syn::Token![,]>::parse_terminated)
        {
            self.exprs(&list);
        } else if let Ok(list) =
            mac.parse_body_with(Punctuated::<Expr, syn::Token![;]>::parse_terminated)
        {
            self.exprs(&list);
        } else if let Ok(block) = mac.parse_body_with(syn::Block::parse_within) {
            let b = self.open(Kind::Block);
            for stmt in &block {
                self.stmt(stmt);
            }
            self.close(b, &[]);
        } else {
            self.idents(mac.tokens.clone());
        }
        let mut own = spans;
        own.push(delim);
        self.close(id, &own);
        id
    }

    /// A [`Kind::Path`] for each identifier of an unparsed macro body.
    fn idents(&mut self, tokens: TokenStream) {
        for tt in tokens {
            match tt {
                TokenTree::Ident(i) => {
                    let id = self.open(Kind::Path);
                    let name = self.ident_sym(&i);
                    self.set_name(id, name, Sym::NONE);
                    self.close(id, &[i.span()]);
                }
                TokenTree::Group(g) => self.idents(g.stream()),
                TokenTree::Literal(l) => {
                    if let Ok(lit) = syn::parse_str::<syn::Lit>(&l.to_string()) {
                        // Re-spanned: take the position from the token.
                        let (s, e) = self.range(l.span());
                        let kind = if matches!(
                            lit,
                            syn::Lit::Str(_) | syn::Lit::ByteStr(_) | syn::Lit::CStr(_)
                        ) {
                            Kind::Str
                        } else {
                            Kind::Lit
                        };
                        let text = self.unit.text.get(s..e).unwrap_or("");
                        let open = text.find('"').map_or(0, |i| i + 1);
                        let close = text.rfind('"').unwrap_or(text.len()).max(open);
                        let id = self.open(kind);
                        let name = if kind == Kind::Str {
                            Sym::of(s + open..s + close)
                        } else {
                            Sym::of(s..e)
                        };
                        self.set_name(id, name, Sym::NONE);
                        self.close(id, &[l.span()]);
                    }
                }
                TokenTree::Punct(_) => {}
            }
        }
    }
}

/// Macros that leave the function early.
fn is_exit_macro(name: &str) -> bool {
    matches!(name, "bail" | "ensure" | "try") || crate::known::is_exit_macro_name(name)
}

fn bin_op(op: &syn::BinOp) -> (Kind, Op, bool) {
    use syn::BinOp as B;
    match op {
        B::Eq(_) => (Kind::Binary, Op::Eq, false),
        B::Ne(_) => (Kind::Binary, Op::Ne, false),
        B::Lt(_) => (Kind::Binary, Op::Lt, false),
        B::Le(_) => (Kind::Binary, Op::Le, false),
        B::Gt(_) => (Kind::Binary, Op::Gt, false),
        B::Ge(_) => (Kind::Binary, Op::Ge, false),
        B::And(_) => (Kind::Binary, Op::And, false),
        B::Or(_) => (Kind::Binary, Op::Or, false),
        B::Add(_) | B::Sub(_) | B::Mul(_) | B::Div(_) => (Kind::Binary, Op::Arith, false),
        B::Rem(_) | B::BitAnd(_) | B::BitOr(_) | B::BitXor(_) | B::Shl(_) | B::Shr(_) => {
            (Kind::Binary, Op::Bits, false)
        }
        B::AddAssign(_) | B::SubAssign(_) | B::MulAssign(_) | B::DivAssign(_) => {
            (Kind::Assign, Op::Arith, true)
        }
        _ => (Kind::Assign, Op::Bits, true),
    }
}

fn to_u32(x: usize) -> u32 {
    u32::try_from(x).unwrap_or(u32::MAX)
}

/// The last identifier of a type path after peeling references (`&mut HashMap<K, V>` →
/// `HashMap`).
fn type_name(ty: &Type) -> Option<String> {
    match ty {
        Type::Reference(r) => type_name(&r.elem),
        Type::Paren(p) => type_name(&p.elem),
        Type::Group(g) => type_name(&g.elem),
        Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

/// A span at the end of a type (its last token), without walking the whole type.
fn type_end_span(ty: &Type) -> Span {
    match ty {
        Type::Path(p) => {
            p.path
                .segments
                .last()
                .map_or_else(Span::call_site, |s| match &s.arguments {
                    syn::PathArguments::AngleBracketed(a) => a.gt_token.span,
                    _ => s.ident.span(),
                })
        }
        Type::Reference(r) => type_end_span(&r.elem),
        Type::Ptr(p) => type_end_span(&p.elem),
        Type::Array(a) => a.bracket_token.span.close(),
        Type::Slice(a) => a.bracket_token.span.close(),
        Type::Paren(p) => p.paren_token.span.close(),
        Type::Tuple(t) => t.paren_token.span.close(),
        _ => Span::call_site(),
    }
}

fn pat_span(pat: &Pat) -> Span {
    use syn::spanned::Spanned;
    // Patterns are small: their token walk is cheap.
    pat.span()
}

/// The `#[cfg(..)]` predicates of a list of attributes, as text (empty when there are none).
fn cfg_of(attrs: &[syn::Attribute]) -> String {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("cfg"))
        .map(|a| a.meta.to_token_stream().to_string())
        .collect::<Vec<_>>()
        .join(" & ")
}

fn join_cfg(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_owned(),
        (_, true) => a.to_owned(),
        _ => format!("{a} & {b}"),
    }
}

/// One `static [ref] NAME: TYPE = EXPR;` of `lazy_static!` / `thread_local!`.
struct MacroStatic {
    name: String,
    name_span: Span,
    ty: Type,
    start: Span,
    end: Span,
}

struct MacroStatics(Vec<MacroStatic>);

impl MacroStatics {
    fn parse(input: syn::parse::ParseStream<'_>) -> syn::Result<Self> {
        let mut out = Vec::new();
        while !input.is_empty() {
            let attrs = input.call(syn::Attribute::parse_outer)?;
            let _vis: syn::Visibility = input.parse()?;
            let st: syn::Token![static] = input.parse()?;
            if input.peek(syn::Token![ref]) {
                let _: syn::Token![ref] = input.parse()?;
            }
            let name: syn::Ident = input.parse()?;
            let _: syn::Token![:] = input.parse()?;
            let ty: Type = input.parse()?;
            let _: syn::Token![=] = input.parse()?;
            let _: Expr = input.parse()?;
            let end = if input.peek(syn::Token![;]) {
                let semi: syn::Token![;] = input.parse()?;
                semi.span
            } else {
                type_end_span(&ty)
            };
            let start = attrs.first().map_or(st.span, |a| a.pound_token.span);
            out.push(MacroStatic {
                name: name.to_string(),
                name_span: name.span(),
                ty,
                start,
                end,
            });
        }
        Ok(MacroStatics(out))
    }
}
