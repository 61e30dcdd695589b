//! The C and C++ front-end: tree-sitter parses (C grammar for `.c`, C++ for the rest), this
//! module lowers the tree into the [`Unit`] IR.
//!
//! It needs no headers, SDK or compile database: tree-sitter recovers from what it cannot
//! parse (unknown macros, vendor attributes), and the regions it marks as errors are recorded
//! in [`Unit::broken`] while the functions around them are analyzed. The parse runs under a
//! work budget and a time budget, both linear in the bytes read (`front/budget.rs`): a file
//! whose error recovery would cost more is parsed again in pieces, and pieces that still cost
//! too much are skipped and reported. Lowering recurses at most
//! [`MAX_DEPTH`] levels; a deeper subtree becomes one opaque node (and is reported), so no
//! input can overflow the stack. Children are walked with one tree cursor per node, so wide
//! nodes (a 100,000-element initializer) cost linear time.

use tree_sitter::{Node as TsNode, Parser};

use crate::ir::{self, Builder, FnKind, Function, Kind, Lang, Op, Static, Sym, Ty, TypeDecl, Unit};

/// Deepest tree-sitter nesting lowered; deeper subtrees are one opaque node.
pub const MAX_DEPTH: usize = 600;

/// Which grammar to parse with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// C (`.c`).
    C,
    /// C++ (`.cc`, `.cpp`, `.h`, …; C headers parse as C++ too).
    Cpp,
}

/// Declares [`F`], one variant per grammar field, and [`FIELD_NAMES`], its names in the same
/// order, from one list.
macro_rules! fields {
    ($($variant:ident = $name:literal,)*) => {
        /// The grammar fields the lowering reads. `Node::child_by_field_name` looks a name up by
        /// comparing it with every field name of the grammar (one `strncmp` each: ~3 % of a C++
        /// run), so the ids are resolved once per parse into a thread-local table.
        #[derive(Clone, Copy)]
        enum F {
            $($variant,)*
        }

        /// The name of each [`F`], indexed by the variant.
        const FIELD_NAMES: [&str; [$($name,)*].len()] = [$($name,)*];
    };
}

fields! {
    Alternative = "alternative",
    Argument = "argument",
    Arguments = "arguments",
    Body = "body",
    Condition = "condition",
    Consequence = "consequence",
    Declarator = "declarator",
    Field = "field",
    Function = "function",
    Index = "index",
    Indices = "indices",
    Left = "left",
    Name = "name",
    Operator = "operator",
    Parameters = "parameters",
    Right = "right",
    Scope = "scope",
    Type = "type",
    Value = "value",
}

thread_local! {
    /// The ids of [`FIELD_NAMES`] in the grammar being lowered on this thread (0: none).
    static FIELD_IDS: std::cell::Cell<[u16; FIELD_NAMES.len()]> =
        const { std::cell::Cell::new([0; FIELD_NAMES.len()]) };
}

/// Resolves [`FIELD_NAMES`] in `language` for the lowering that follows on this thread.
fn use_fields(language: &tree_sitter::Language) {
    let ids = FIELD_NAMES.map(|name| language.field_id_for_name(name).map_or(0, u16::from));
    FIELD_IDS.with(|c| c.set(ids));
}

/// The child of a node in a grammar field.
trait Field<'n> {
    fn field(&self, f: F) -> Option<TsNode<'n>>;
}

impl<'n> Field<'n> for TsNode<'n> {
    fn field(&self, f: F) -> Option<TsNode<'n>> {
        // Id 0 (a field this grammar lacks) names no child.
        match FIELD_IDS.with(|c| c.get()[f as usize]) {
            0 => None,
            id => self.child_by_field_id(id),
        }
    }
}

/// Lowers a C or C++ file.
#[must_use]
pub fn lower(text: &str, dialect: Dialect) -> Unit<'_> {
    let mut unit = Unit::new(Lang::Cpp, text);
    let mut parser = Parser::new();
    let language: tree_sitter::Language = match dialect {
        Dialect::C => tree_sitter_c::LANGUAGE.into(),
        Dialect::Cpp => tree_sitter_cpp::LANGUAGE.into(),
    };
    if parser.set_language(&language).is_err() {
        unit.broken
            .push((0, "the C/C++ grammar could not be loaded".to_owned()));
        return unit;
    }
    use_fields(&language);
    let parsed = super::budget::parse(&mut parser, text);
    unit.broken.extend(parsed.notes);
    let mut l = Lowerer {
        unit: &mut unit,
        b: Builder::new(),
        depth: 0,
        cfg: 0,
    };
    for tree in &parsed.trees {
        l.top(tree.root_node(), &Scope::default());
    }
    unit
}

#[derive(Clone, Default)]
struct Scope {
    owner: Option<String>,
    public: bool,
}

struct Lowerer<'u, 't> {
    unit: &'u mut Unit<'t>,
    b: Builder,
    depth: usize,
    /// The `#if` condition of what is being lowered (index into `Unit::cfgs`).
    cfg: u32,
}

fn range(n: TsNode<'_>) -> (usize, usize) {
    (n.start_byte(), n.end_byte())
}

fn sym(n: TsNode<'_>) -> Sym {
    Sym::of(n.start_byte()..n.end_byte())
}

/// The named children of `n`, through one cursor.
fn named(n: TsNode<'_>) -> Vec<TsNode<'_>> {
    let mut cursor = n.walk();
    n.named_children(&mut cursor).collect()
}

impl<'t> Lowerer<'_, 't> {
    fn text(&self, n: TsNode<'_>) -> &'t str {
        self.unit
            .text
            .get(n.start_byte()..n.end_byte())
            .unwrap_or("")
    }

    fn broken(&mut self, n: TsNode<'_>, what: &str) {
        if self.unit.broken.len() < 64 {
            self.unit.broken.push((
                u32::try_from(n.start_byte()).unwrap_or(u32::MAX),
                what.to_owned(),
            ));
        }
    }

    // ---- declarations ----

    fn top(&mut self, n: TsNode<'_>, scope: &Scope) {
        if self.depth > MAX_DEPTH {
            self.broken(n, "declarations nested too deeply; not analyzed");
            return;
        }
        self.depth += 1;
        let mut scope = scope.clone();
        for child in named(n) {
            match child.kind() {
                "function_definition" => self.function(child, &scope),
                "class_specifier" | "struct_specifier" | "union_specifier" => {
                    self.class(child, None);
                }
                "declaration" | "field_declaration" => {
                    self.global_decl(child, &scope);
                }
                "type_definition" => {
                    if let Some(t) = child.field(F::Type) {
                        if matches!(
                            t.kind(),
                            "struct_specifier" | "class_specifier" | "union_specifier"
                        ) {
                            let alias = child.field(F::Declarator).map(|d| self.text(d).to_owned());
                            self.class(t, alias);
                        }
                    }
                }
                "template_declaration"
                | "linkage_specification"
                | "declaration_list"
                | "namespace_definition"
                | "field_declaration_list"
                | "export_declaration" => {
                    if let Some(body) = child.field(F::Body) {
                        self.top(body, &scope);
                    } else {
                        self.top(child, &scope);
                    }
                }
                "preproc_if" | "preproc_ifdef" | "preproc_else" | "preproc_elif"
                | "preproc_elifdef" => {
                    let saved = self.cfg;
                    self.cfg = self.cfg_for(child);
                    self.top(child, &scope);
                    self.cfg = saved;
                }
                "access_specifier" => {
                    scope.public = self.text(child).starts_with("public");
                }
                // A body whose signature was lost in an error region: analyze it as a function.
                "compound_statement" => self.anonymous(child, &scope),
                "ERROR" => {
                    self.broken(
                        child,
                        "this region does not parse; the code around it was analyzed",
                    );
                    self.top(child, &scope);
                }
                _ => {}
            }
        }
        self.depth -= 1;
    }

    fn cfg_for(&mut self, n: TsNode<'_>) -> u32 {
        let cond = n
            .field(F::Condition)
            .or_else(|| n.field(F::Name))
            .map(|c| self.text(c).to_owned())
            .unwrap_or_default();
        let text = format!("{}({cond})", n.kind());
        ir::add_cfg(self.unit, text)
    }

    fn class(&mut self, n: TsNode<'_>, alias: Option<String>) {
        let name = n
            .field(F::Name)
            .map(|c| last_name(self.text(c)).to_owned())
            .or(alias)
            .unwrap_or_default();
        let Some(body) = n.field(F::Body) else {
            return;
        };
        let mut decl = TypeDecl {
            name: name.clone(),
            span: (to_u32(n.start_byte()), to_u32(n.end_byte())),
            ..TypeDecl::default()
        };
        self.unit
            .extents
            .push((to_u32(n.start_byte()), to_u32(n.end_byte())));
        let mut scope = Scope {
            owner: Some(name.clone()),
            public: n.kind() != "class_specifier",
        };
        self.members(body, &mut scope, &mut decl, 0);
        if decl.has_dtor {
            self.unit.drop_impls.push(name);
        }
        self.unit.types.push(decl);
    }

    fn members(&mut self, body: TsNode<'_>, scope: &mut Scope, decl: &mut TypeDecl, depth: usize) {
        if depth > 16 {
            return;
        }
        for m in named(body) {
            match m.kind() {
                "field_declaration" => {
                    let ty = m.field(F::Type);
                    // A `static` data member is one per program, shared by every instance.
                    let shared = self.has_specifier(m, "static");
                    let mut cursor = m.walk();
                    let declarators: Vec<_> = m
                        .children_by_field_name("declarator", &mut cursor)
                        .collect();
                    for d in declarators {
                        let info = self.declarator(d);
                        if info.function {
                            if info.dtor {
                                decl.has_dtor = true;
                            }
                            if let Some(name) = info.name {
                                let ret = self.type_of(
                                    ty,
                                    &DeclInfo {
                                        pointer: info.pointer,
                                        ..DeclInfo::default()
                                    },
                                );
                                let name = self.unit.sym(name).to_owned();
                                decl.methods.push(name.clone());
                                self.unit.signatures.push((name, ret));
                            }
                            continue;
                        }
                        let t = self.type_of(ty, &info);
                        if let (Some(name), false) = (info.name, shared) {
                            decl.fields.push((self.unit.sym(name).to_owned(), t));
                        }
                    }
                    if let Some(t) = ty {
                        if matches!(
                            t.kind(),
                            "struct_specifier" | "class_specifier" | "union_specifier"
                        ) && t.field(F::Body).is_some()
                        {
                            self.class(t, None);
                        }
                    }
                }
                "declaration" => {
                    // `~T();` declared in the class body.
                    if let Some(d) = m.field(F::Declarator) {
                        let info = self.declarator(d);
                        if info.dtor {
                            decl.has_dtor = true;
                        }
                    }
                }
                "function_definition" => {
                    let info = m.field(F::Declarator).map(|d| self.declarator(d));
                    if info.as_ref().is_some_and(|i| i.dtor) {
                        decl.has_dtor = true;
                    }
                    self.function(m, scope);
                }
                "access_specifier" => {
                    scope.public = self.text(m).starts_with("public");
                }
                "template_declaration" => self.members(m, scope, decl, depth + 1),
                "preproc_if" | "preproc_ifdef" | "preproc_else" | "preproc_elif" => {
                    let saved = self.cfg;
                    self.cfg = self.cfg_for(m);
                    self.members(m, scope, decl, depth + 1);
                    self.cfg = saved;
                }
                "class_specifier" | "struct_specifier" | "union_specifier" => {
                    self.class(m, None);
                }
                _ => {}
            }
        }
    }

    /// A top-level (or namespace-level) declaration: globals and statics.
    fn global_decl(&mut self, n: TsNode<'_>, scope: &Scope) {
        let ty = n.field(F::Type);
        if let Some(t) = ty {
            if matches!(
                t.kind(),
                "struct_specifier" | "class_specifier" | "union_specifier"
            ) && t.field(F::Body).is_some()
            {
                self.class(t, None);
            }
        }
        let thread_local =
            self.has_specifier(n, "thread_local") || self.has_specifier(n, "__thread");
        let is_extern = self.has_specifier(n, "extern");
        let mut cursor = n.walk();
        let declarators: Vec<_> = n
            .children_by_field_name("declarator", &mut cursor)
            .collect();
        for d in declarators {
            let info = self.declarator(d);
            if info.function {
                if let Some(name) = info.name {
                    let ret = self.type_of(
                        ty,
                        &DeclInfo {
                            pointer: info.pointer,
                            ..DeclInfo::default()
                        },
                    );
                    let name = self.unit.sym(name).to_owned();
                    self.unit.signatures.push((name, ret));
                }
                continue;
            }
            if is_extern {
                continue;
            }
            let Some(name) = info.name else { continue };
            let t = self.type_of(ty, &info);
            let leaked_new = info.init.is_some_and(|v| v.kind() == "new_expression");
            let _ = scope;
            self.unit
                .extents
                .push((to_u32(n.start_byte()), to_u32(n.end_byte())));
            self.unit.statics.push(Static {
                name: self.unit.sym(name).to_owned(),
                ty: t,
                span: (to_u32(n.start_byte()), to_u32(n.end_byte())),
                name_span: (name.start, name.start + name.len),
                thread_local,
                leaked_new,
            });
        }
    }

    fn anonymous(&mut self, body: TsNode<'_>, scope: &Scope) {
        let saved_depth = std::mem::take(&mut self.depth);
        let body_id = self.stmt(body);
        self.depth = saved_depth;
        let cfg = self.unit.cfgs[self.cfg as usize].clone();
        self.unit.functions.push(Function {
            name: String::new(),
            owner: scope.owner.clone(),
            trait_name: None,
            is_pub: false,
            kind: FnKind::Plain,
            consumes_self: false,
            params: Vec::new(),
            ret: 0,
            body: body_id,
            cfg,
            span: (to_u32(body.start_byte()), to_u32(body.end_byte())),
        });
    }

    fn has_specifier(&self, n: TsNode<'_>, word: &str) -> bool {
        named(n).into_iter().any(|c| {
            matches!(c.kind(), "storage_class_specifier" | "type_qualifier") && self.text(c) == word
        })
    }

    fn function(&mut self, n: TsNode<'_>, scope: &Scope) {
        let Some(body) = n.field(F::Body) else {
            return;
        };
        let Some(d) = n.field(F::Declarator) else {
            return;
        };
        let info = self.declarator(d);
        let name = info
            .name
            .map(|s| self.unit.sym(s).trim_start_matches('~').to_owned())
            .unwrap_or_default();
        let owner = info
            .scope
            .map(|s| last_name(self.unit.sym(s)).to_owned())
            .or_else(|| scope.owner.clone());
        let kind = if info.dtor {
            FnKind::Dtor
        } else if owner.as_deref() == Some(name.as_str()) {
            FnKind::Ctor
        } else {
            FnKind::Plain
        };
        let ret = self.type_of(
            n.field(F::Type),
            &DeclInfo {
                pointer: info.pointer,
                ..DeclInfo::default()
            },
        );
        let mut params = Vec::new();
        if let Some(list) = info.params {
            for p in named(list) {
                if p.kind() != "parameter_declaration" {
                    continue;
                }
                let pinfo = p
                    .field(F::Declarator)
                    .map(|d| self.declarator(d))
                    .unwrap_or_default();
                let t = self.type_of(p.field(F::Type), &pinfo);
                if let Some(pn) = pinfo.name {
                    params.push((self.unit.sym(pn).to_owned(), t));
                }
            }
        }
        let is_static = self.has_specifier(n, "static");
        let is_pub = if scope.owner.is_some() && info.scope.is_none() {
            scope.public
        } else {
            !is_static
        };
        let saved_depth = std::mem::take(&mut self.depth);
        let body_id = self.stmt(body);
        self.depth = saved_depth;
        self.unit
            .extents
            .push((to_u32(n.start_byte()), to_u32(n.end_byte())));
        let cfg = self.unit.cfgs[self.cfg as usize].clone();
        self.unit.functions.push(Function {
            name,
            owner,
            trait_name: None,
            is_pub,
            kind,
            consumes_self: false,
            params,
            ret,
            body: body_id,
            cfg,
            span: (to_u32(n.start_byte()), to_u32(n.end_byte())),
        });
    }

    /// What a declarator declares: its name, pointer-ness, initializer, parameters.
    fn declarator<'n>(&self, mut d: TsNode<'n>) -> DeclInfo<'n> {
        let mut info = DeclInfo::default();
        for _ in 0..64 {
            match d.kind() {
                "init_declarator" => {
                    info.init = d.field(F::Value);
                    match d.field(F::Declarator) {
                        Some(x) => d = x,
                        None => break,
                    }
                }
                "pointer_declarator" | "abstract_pointer_declarator" => {
                    info.pointer = true;
                    match d.field(F::Declarator) {
                        Some(x) => d = x,
                        None => break,
                    }
                }
                "reference_declarator" | "abstract_reference_declarator" => {
                    info.reference = true;
                    match d.named_child(0) {
                        Some(x) => d = x,
                        None => break,
                    }
                }
                "array_declarator" => {
                    info.array = true;
                    match d.field(F::Declarator) {
                        Some(x) => d = x,
                        None => break,
                    }
                }
                "function_declarator" => {
                    info.function = true;
                    info.params = d.field(F::Parameters);
                    match d.field(F::Declarator) {
                        Some(x) => d = x,
                        None => break,
                    }
                }
                "parenthesized_declarator" | "attributed_declarator" => match d.named_child(0) {
                    Some(x) => d = x,
                    None => break,
                },
                "qualified_identifier" => {
                    info.scope = d.field(F::Scope).map(sym);
                    match d.field(F::Name) {
                        Some(x) => d = x,
                        None => break,
                    }
                }
                "destructor_name" => {
                    info.dtor = true;
                    info.name = Some(sym(d));
                    break;
                }
                "identifier" | "field_identifier" | "operator_name" | "type_identifier" => {
                    info.name = Some(sym(d));
                    break;
                }
                "template_function" => match d.field(F::Name) {
                    Some(x) => d = x,
                    None => break,
                },
                _ => break,
            }
        }
        info
    }

    /// The type of a declaration: its type specifier plus the declarator's pointer / array.
    fn type_of(&mut self, ty: Option<TsNode<'_>>, info: &DeclInfo<'_>) -> u32 {
        let mut t = ty.map(|t| self.lower_ty(t, 0)).unwrap_or_default();
        if info.pointer || info.array {
            if info.array && !info.pointer {
                let elem = ir::add_ty(self.unit, t);
                t = Ty {
                    name: "[]".to_owned(),
                    args: vec![elem],
                    array: true,
                    ..Ty::default()
                };
            } else {
                t.pointer = true;
            }
        }
        if info.reference {
            t.reference = true;
        }
        ir::add_ty(self.unit, t)
    }

    fn lower_ty(&mut self, t: TsNode<'_>, depth: usize) -> Ty {
        if depth > 32 {
            return Ty::default();
        }
        match t.kind() {
            "template_type" => {
                let name = t
                    .field(F::Name)
                    .map(|n| last_name(self.text(n)).to_owned())
                    .unwrap_or_default();
                let mut args = Vec::new();
                if let Some(list) = t.field(F::Arguments) {
                    for a in named(list) {
                        if a.kind() == "type_descriptor" {
                            let inner = self.descriptor(a, depth + 1);
                            args.push(ir::add_ty(self.unit, inner));
                        }
                    }
                }
                Ty {
                    name,
                    args,
                    ..Ty::default()
                }
            }
            "qualified_identifier" => match t.field(F::Name) {
                Some(n) => self.lower_ty(n, depth + 1),
                None => Ty::default(),
            },
            "sized_type_specifier" => Ty {
                name: self
                    .text(t)
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" "),
                ..Ty::default()
            },
            "type_descriptor" => self.descriptor(t, depth + 1),
            _ => Ty {
                name: last_name(self.text(t)).to_owned(),
                ..Ty::default()
            },
        }
    }

    fn descriptor(&mut self, d: TsNode<'_>, depth: usize) -> Ty {
        let mut t = d
            .field(F::Type)
            .map(|x| self.lower_ty(x, depth))
            .unwrap_or_default();
        if let Some(decl) = d.field(F::Declarator) {
            if decl.kind().contains("pointer") {
                t.pointer = true;
            }
        }
        t
    }

    // ---- statements ----

    fn open(&mut self, kind: Kind, n: TsNode<'_>) -> u32 {
        let id = self.b.open(self.unit, kind, range(n));
        self.unit.nodes[id as usize].cfg = self.cfg;
        id
    }

    fn close(&mut self) {
        self.b.close(self.unit);
    }

    fn leaf(&mut self, kind: Kind, n: TsNode<'_>) -> u32 {
        let id = self.open(kind, n);
        self.close();
        id
    }

    /// Lowers a statement; returns its node.
    fn stmt(&mut self, n: TsNode<'_>) -> u32 {
        if self.depth > MAX_DEPTH {
            self.broken(n, "nested too deeply; this part was not analyzed");
            return self.leaf(Kind::Other, n);
        }
        self.depth += 1;
        let id = self.stmt_inner(n);
        self.depth -= 1;
        id
    }

    fn stmt_inner(&mut self, n: TsNode<'_>) -> u32 {
        match n.kind() {
            "compound_statement" => {
                let id = self.open(Kind::Block, n);
                self.stmts(n);
                self.close();
                id
            }
            "declaration" => self.local_decl(n),
            "expression_statement" => match n.named_child(0) {
                Some(e) => {
                    let id = self.expr(e);
                    self.extent(id);
                    id
                }
                None => self.leaf(Kind::Other, n),
            },
            "if_statement" => {
                let id = self.open(Kind::If, n);
                match n.field(F::Condition) {
                    Some(c) => {
                        self.cond(c);
                    }
                    None => {
                        self.leaf(Kind::Other, n);
                    }
                }
                match n.field(F::Consequence) {
                    Some(c) => {
                        self.branch(c);
                    }
                    None => {
                        self.leaf(Kind::Block, n);
                    }
                }
                if let Some(alt) = n.field(F::Alternative) {
                    self.unit.nodes[id as usize].flags |= ir::HAS_ELSE;
                    let inner = if alt.kind() == "else_clause" {
                        alt.named_child(0).unwrap_or(alt)
                    } else {
                        alt
                    };
                    self.branch(inner);
                }
                self.close();
                id
            }
            "while_statement" | "do_statement" | "for_statement" => {
                let id = self.open(Kind::Loop, n);
                if let Some(c) = n.field(F::Condition) {
                    self.cond(c);
                }
                if let Some(b) = n.field(F::Body) {
                    self.branch(b);
                }
                self.close();
                id
            }
            "for_range_loop" => {
                let id = self.open(Kind::Loop, n);
                self.unit.nodes[id as usize].flags |= ir::FOR;
                if let Some(d) = n.field(F::Declarator) {
                    self.range_params(d);
                }
                if let Some(r) = n.field(F::Right) {
                    self.expr(r);
                }
                if let Some(b) = n.field(F::Body) {
                    self.branch(b);
                }
                self.close();
                id
            }
            "switch_statement" => {
                let id = self.open(Kind::Match, n);
                if let Some(c) = n.field(F::Condition) {
                    self.cond(c);
                }
                if let Some(body) = n.field(F::Body) {
                    for case in named(body) {
                        if case.kind() == "case_statement" {
                            let arm = self.open(Kind::Arm, case);
                            if let Some(v) = case.field(F::Value) {
                                self.unit.nodes[arm as usize].name = sym(v);
                            }
                            self.open(Kind::Block, case);
                            for s in named(case) {
                                if Some(s) != case.field(F::Value) {
                                    self.stmt(s);
                                }
                            }
                            self.close();
                            self.close();
                        } else {
                            self.stmt(case);
                        }
                    }
                }
                self.close();
                id
            }
            "return_statement" => {
                let id = self.open(Kind::Return, n);
                if let Some(v) = n.named_child(0) {
                    self.expr(v);
                }
                self.close();
                self.extent(id);
                id
            }
            "throw_statement" => {
                let id = self.open(Kind::Exit, n);
                if let Some(v) = n.named_child(0) {
                    self.expr(v);
                }
                self.close();
                id
            }
            // `label: statement`: the grammar names only the label.
            "labeled_statement" => match n.named_child(1) {
                Some(s) => self.stmt(s),
                None => self.leaf(Kind::Other, n),
            },
            "preproc_if" | "preproc_ifdef" | "preproc_else" | "preproc_elif"
            | "preproc_elifdef" => {
                let saved = self.cfg;
                self.cfg = self.cfg_for(n);
                let id = self.open(Kind::Block, n);
                self.stmts(n);
                self.close();
                self.cfg = saved;
                id
            }
            "try_statement" | "seh_try_statement" => {
                let id = self.open(Kind::Other, n);
                for c in named(n) {
                    self.stmt(c);
                }
                self.close();
                id
            }
            "catch_clause" => {
                let id = self.open(Kind::Other, n);
                if let Some(b) = n.field(F::Body) {
                    self.stmt(b);
                }
                self.close();
                id
            }
            "ERROR" => {
                self.broken(
                    n,
                    "this region does not parse; the code around it was analyzed",
                );
                let id = self.open(Kind::Block, n);
                self.stmts(n);
                self.close();
                id
            }
            "function_definition"
            | "class_specifier"
            | "struct_specifier"
            | "comment"
            | "preproc_call"
            | "preproc_def"
            | "preproc_function_def"
            | "preproc_include"
            | "type_definition"
            | "using_declaration"
            | "alias_declaration"
            | "namespace_alias_definition"
            | "static_assert_declaration" => self.leaf(Kind::Other, n),
            _ => self.expr(n),
        }
    }

    fn extent(&mut self, id: u32) {
        let node = self.unit.nodes[id as usize];
        self.unit.extents.push((node.start, node.end));
    }

    fn stmts(&mut self, n: TsNode<'_>) {
        for s in named(n) {
            if s.kind() == "comment"
                || (n.kind().starts_with("preproc_") && Some(s) == n.field(F::Condition))
            {
                continue;
            }
            if n.kind().starts_with("preproc_if") && Some(s) == n.field(F::Name) {
                continue;
            }
            let id = self.stmt(s);
            self.extent(id);
        }
    }

    /// A branch is always a [`Kind::Block`], braces or not.
    fn branch(&mut self, n: TsNode<'_>) -> u32 {
        if n.kind() == "compound_statement" {
            return self.stmt(n);
        }
        let id = self.open(Kind::Block, n);
        self.stmt(n);
        self.close();
        id
    }

    fn cond(&mut self, c: TsNode<'_>) -> u32 {
        match c.kind() {
            "condition_clause" | "parenthesized_expression" => {
                let id = self.open(Kind::Other, c);
                for x in named(c) {
                    if x.kind() == "declaration" || x.kind() == "init_statement" {
                        self.stmt(x);
                    } else {
                        self.expr(x);
                    }
                }
                self.close();
                id
            }
            _ => self.expr(c),
        }
    }

    fn range_params(&mut self, d: TsNode<'_>) {
        let mut d = d;
        for _ in 0..8 {
            if matches!(d.kind(), "reference_declarator" | "pointer_declarator") {
                match d.named_child(0) {
                    Some(x) => d = x,
                    None => break,
                }
            } else {
                break;
            }
        }
        if d.kind() == "structured_binding_declarator" {
            for (i, x) in named(d).into_iter().enumerate() {
                let p = self.leaf(Kind::Param, x);
                self.unit.nodes[p as usize].name = sym(x);
                if i == 0 {
                    self.unit.nodes[p as usize].flags |= ir::KEY;
                }
            }
            return;
        }
        let info = self.declarator(d);
        if let Some(name) = info.name {
            let p = self.leaf(Kind::Param, d);
            self.unit.nodes[p as usize].name = name;
        }
    }

    fn local_decl(&mut self, n: TsNode<'_>) -> u32 {
        let ty = n.field(F::Type);
        let is_static = self.has_specifier(n, "static");
        let mut cursor = n.walk();
        let declarators: Vec<_> = n
            .children_by_field_name("declarator", &mut cursor)
            .collect();
        let group = declarators.len() != 1;
        let outer = if group {
            Some(self.open(Kind::Other, n))
        } else {
            None
        };
        let mut last = None;
        for d in declarators {
            let info = self.declarator(d);
            if info.function {
                // `unique_fd guard(fd);` parses as a prototype taking a type `fd`: in a body it
                // is a variable built from its arguments.
                if let (Some(name), Some(params)) = (info.name, info.params) {
                    let id = self.open(Kind::Let, if group { d } else { n });
                    self.unit.nodes[id as usize].name = name;
                    let t = self.type_of(ty, &DeclInfo::default());
                    self.unit.nodes[id as usize].ty = t;
                    let c = self.open(Kind::Construct, params);
                    if let Some(t) = ty {
                        self.unit.nodes[c as usize].name = type_name_sym(t);
                    }
                    for p in named(params) {
                        let arg = p.field(F::Type).unwrap_or(p);
                        let a = self.leaf(Kind::Path, arg);
                        let (s, q) = qualified(arg);
                        self.unit.nodes[a as usize].name = s;
                        self.unit.nodes[a as usize].qual = q;
                    }
                    self.close();
                    self.close();
                    last = Some(id);
                }
                continue;
            }
            let id = self.open(Kind::Let, if group { d } else { n });
            if let Some(name) = info.name {
                self.unit.nodes[id as usize].name = name;
            }
            let t = self.type_of(ty, &info);
            self.unit.nodes[id as usize].ty = t;
            self.unit.nodes[id as usize].flags |= ir::MUT;
            if is_static {
                self.unit.nodes[id as usize].flags |= ir::STATIC;
            }
            match info.init {
                Some(v) => match v.kind() {
                    "argument_list" | "initializer_list" => {
                        // `T x(args)` / `T x{args}`: a constructor call.
                        let c = self.open(Kind::Construct, v);
                        if let Some(t) = ty {
                            self.unit.nodes[c as usize].name = type_name_sym(t);
                        }
                        for a in named(v) {
                            self.expr(a);
                        }
                        self.close();
                    }
                    _ => {
                        self.expr(v);
                    }
                },
                None => self.unit.nodes[id as usize].flags |= ir::NO_INIT,
            }
            self.close();
            last = Some(id);
        }
        match (outer, last) {
            (Some(o), _) => {
                self.close();
                o
            }
            (None, Some(id)) => id,
            (None, None) => self.leaf(Kind::Other, n),
        }
    }

    // ---- expressions ----

    fn expr(&mut self, n: TsNode<'_>) -> u32 {
        if self.depth > MAX_DEPTH {
            self.broken(
                n,
                "an expression nested too deeply; this part was not analyzed",
            );
            return self.leaf(Kind::Other, n);
        }
        self.depth += 1;
        let id = self.expr_inner(n);
        self.depth -= 1;
        id
    }

    fn children_exprs(&mut self, n: TsNode<'_>) {
        for c in named(n) {
            if c.kind() != "comment" {
                self.expr(c);
            }
        }
    }

    fn expr_inner(&mut self, n: TsNode<'_>) -> u32 {
        match n.kind() {
            "call_expression" => self.call(n),
            "cast_expression" => {
                let id = self.open(Kind::Cast, n);
                let t = n
                    .field(F::Type)
                    .map(|t| self.descriptor(t, 0))
                    .unwrap_or_default();
                let t = ir::add_ty(self.unit, t);
                self.unit.nodes[id as usize].ty = t;
                if let Some(v) = n.field(F::Value) {
                    self.expr(v);
                }
                self.close();
                id
            }
            "assignment_expression" => {
                let id = self.open(Kind::Assign, n);
                let op = n.field(F::Operator).map_or("=", |o| self.text(o));
                if op != "=" {
                    self.unit.nodes[id as usize].flags |= ir::COMPOUND;
                }
                if let Some(l) = n.field(F::Left) {
                    self.expr(l);
                }
                if let Some(r) = n.field(F::Right) {
                    self.expr(r);
                }
                self.close();
                id
            }
            "binary_expression" => {
                let id = self.open(Kind::Binary, n);
                let op = n.field(F::Operator).map_or("", |o| self.text(o));
                self.unit.nodes[id as usize].op = match op {
                    "==" => Op::Eq,
                    "!=" => Op::Ne,
                    "<" => Op::Lt,
                    "<=" => Op::Le,
                    ">" => Op::Gt,
                    ">=" => Op::Ge,
                    "&&" | "and" => Op::And,
                    "||" | "or" => Op::Or,
                    "+" | "-" | "*" | "/" => Op::Arith,
                    _ => Op::Bits,
                };
                if let Some(l) = n.field(F::Left) {
                    self.expr(l);
                }
                if let Some(r) = n.field(F::Right) {
                    self.expr(r);
                }
                self.close();
                id
            }
            "unary_expression" | "pointer_expression" => {
                let id = self.open(Kind::Unary, n);
                let op = n.field(F::Operator).map_or("", |o| self.text(o));
                self.unit.nodes[id as usize].op = match op {
                    "!" | "not" => Op::Not,
                    "-" => Op::Neg,
                    "*" => Op::Deref,
                    "&" => Op::Ref,
                    _ => Op::None,
                };
                if let Some(a) = n.field(F::Argument) {
                    self.expr(a);
                }
                self.close();
                id
            }
            "field_expression" => {
                let id = self.open(Kind::Field, n);
                if let Some(f) = n.field(F::Field) {
                    self.unit.nodes[id as usize].name = sym(f);
                }
                if let Some(a) = n.field(F::Argument) {
                    self.expr(a);
                }
                self.close();
                id
            }
            "subscript_expression" => {
                let id = self.open(Kind::Index, n);
                if let Some(a) = n.field(F::Argument) {
                    self.expr(a);
                }
                if let Some(i) = n.field(F::Indices).or_else(|| n.field(F::Index)) {
                    self.expr(i);
                }
                self.close();
                id
            }
            "identifier"
            | "field_identifier"
            | "this"
            | "namespace_identifier"
            | "type_identifier" => {
                let id = self.leaf(Kind::Path, n);
                self.unit.nodes[id as usize].name = sym(n);
                id
            }
            "qualified_identifier" => {
                let id = self.leaf(Kind::Path, n);
                let (name, qual) = qualified(n);
                self.unit.nodes[id as usize].name = name;
                self.unit.nodes[id as usize].qual = qual;
                id
            }
            "string_literal" | "raw_string_literal" | "concatenated_string" => {
                let id = self.leaf(Kind::Str, n);
                let text = self.text(n);
                let open = text.find('"').map_or(0, |i| i + 1);
                let close = text.rfind('"').unwrap_or(text.len()).max(open);
                self.unit.nodes[id as usize].name =
                    Sym::of(n.start_byte() + open..n.start_byte() + close);
                id
            }
            "number_literal" | "true" | "false" | "null" | "nullptr" | "char_literal" => {
                let id = self.leaf(Kind::Lit, n);
                self.unit.nodes[id as usize].name = sym(n);
                id
            }
            "parenthesized_expression"
            | "comma_expression"
            | "initializer_list"
            | "argument_list"
            | "condition_clause"
            | "init_statement" => {
                let id = self.open(Kind::Other, n);
                for c in named(n) {
                    if c.kind() == "declaration" {
                        self.stmt(c);
                    } else if c.kind() != "comment" {
                        self.expr(c);
                    }
                }
                self.close();
                id
            }
            "lambda_expression" => {
                let id = self.open(Kind::Closure, n);
                if let Some(d) = n.field(F::Declarator) {
                    if let Some(list) = d.field(F::Parameters) {
                        for p in named(list) {
                            if let Some(pd) = p.field(F::Declarator) {
                                let info = self.declarator(pd);
                                if let Some(name) = info.name {
                                    let pid = self.leaf(Kind::Param, pd);
                                    self.unit.nodes[pid as usize].name = name;
                                }
                            }
                        }
                    }
                }
                if let Some(b) = n.field(F::Body) {
                    self.stmt(b);
                }
                self.close();
                id
            }
            "new_expression" => {
                let id = self.open(Kind::Construct, n);
                if let Some(t) = n.field(F::Type) {
                    self.unit.nodes[id as usize].name = type_name_sym(t);
                }
                if let Some(a) = n.field(F::Arguments) {
                    self.children_exprs(a);
                }
                self.close();
                id
            }
            "compound_literal_expression" => {
                let id = self.open(Kind::Construct, n);
                if let Some(t) = n.field(F::Type) {
                    self.unit.nodes[id as usize].name = type_name_sym(t);
                }
                if let Some(v) = n.field(F::Value) {
                    self.children_exprs(v);
                }
                self.close();
                id
            }
            "throw_expression" => {
                let id = self.open(Kind::Exit, n);
                self.children_exprs(n);
                self.close();
                id
            }
            "conditional_expression"
            | "update_expression"
            | "delete_expression"
            | "sizeof_expression"
            | "alignof_expression"
            | "co_await_expression"
            | "gnu_asm_expression"
            | "offsetof_expression"
            | "generic_expression" => {
                let id = self.open(Kind::Other, n);
                self.children_exprs(n);
                self.close();
                id
            }
            "compound_statement"
            | "if_statement"
            | "return_statement"
            | "declaration"
            | "expression_statement"
            | "while_statement"
            | "for_statement"
            | "switch_statement"
            | "do_statement"
            | "throw_statement"
            | "for_range_loop"
            | "labeled_statement"
            | "try_statement"
            | "preproc_if"
            | "preproc_ifdef"
            | "ERROR" => self.stmt(n),
            "template_function" => {
                let id = self.leaf(Kind::Path, n);
                if let Some(name) = n.field(F::Name) {
                    let (s, q) = qualified(name);
                    self.unit.nodes[id as usize].name = s;
                    self.unit.nodes[id as usize].qual = q;
                }
                id
            }
            _ => {
                let id = self.open(Kind::Other, n);
                if n.named_child_count() <= 8 {
                    self.children_exprs(n);
                }
                self.close();
                id
            }
        }
    }

    fn call(&mut self, n: TsNode<'_>) -> u32 {
        let func = n.field(F::Function);
        let args = n.field(F::Arguments);
        let Some(func) = func else {
            return self.leaf(Kind::Other, n);
        };
        match func.kind() {
            "field_expression" => {
                let id = self.open(Kind::Method, n);
                if let Some(f) = func.field(F::Field) {
                    self.unit.nodes[id as usize].name = sym(f);
                }
                match func.field(F::Argument) {
                    Some(recv) => {
                        self.expr(recv);
                    }
                    None => {
                        self.leaf(Kind::Other, func);
                    }
                }
                if let Some(a) = args {
                    self.children_exprs(a);
                }
                self.close();
                id
            }
            "template_function" => {
                let name_node = func.field(F::Name);
                let name = name_node.map(|x| self.text(x)).unwrap_or("");
                if matches!(
                    name,
                    "static_cast"
                        | "reinterpret_cast"
                        | "const_cast"
                        | "bit_cast"
                        | "std::bit_cast"
                        | "narrow_cast"
                        | "gsl::narrow_cast"
                ) {
                    let id = self.open(Kind::Cast, n);
                    let mut t = Ty::default();
                    if let Some(list) = func.field(F::Arguments) {
                        if let Some(d) = named(list)
                            .into_iter()
                            .find(|a| a.kind() == "type_descriptor")
                        {
                            t = self.descriptor(d, 0);
                        }
                    }
                    if name == "reinterpret_cast" || name == "const_cast" {
                        t.pointer = true;
                    }
                    let t = ir::add_ty(self.unit, t);
                    self.unit.nodes[id as usize].ty = t;
                    if let Some(a) = args {
                        self.children_exprs(a);
                    }
                    self.close();
                    return id;
                }
                let id = self.open(Kind::Call, n);
                if let Some(nn) = name_node {
                    let (s, q) = qualified(nn);
                    self.unit.nodes[id as usize].name = s;
                    self.unit.nodes[id as usize].qual = q;
                }
                if let Some(list) = func.field(F::Arguments) {
                    if let Some(d) = named(list)
                        .into_iter()
                        .find(|a| a.kind() == "type_descriptor")
                    {
                        let t = self.descriptor(d, 0);
                        let t = ir::add_ty(self.unit, t);
                        self.unit.nodes[id as usize].ty = t;
                    }
                }
                if let Some(a) = args {
                    self.children_exprs(a);
                }
                self.close();
                id
            }
            "identifier" | "qualified_identifier" => {
                let (s, q) = qualified(func);
                let name = self.unit.sym(s);
                let kind = if crate::known::is_exit_macro_name(name) {
                    Kind::Exit
                } else {
                    Kind::Call
                };
                let id = self.open(kind, n);
                self.unit.nodes[id as usize].name = s;
                self.unit.nodes[id as usize].qual = q;
                if let Some(a) = args {
                    self.children_exprs(a);
                }
                self.close();
                id
            }
            _ => {
                let id = self.open(Kind::Call, n);
                self.expr(func);
                if let Some(a) = args {
                    self.children_exprs(a);
                }
                self.close();
                id
            }
        }
    }
}

#[derive(Default, Clone, Copy)]
struct DeclInfo<'n> {
    name: Option<Sym>,
    scope: Option<Sym>,
    pointer: bool,
    reference: bool,
    array: bool,
    function: bool,
    dtor: bool,
    init: Option<TsNode<'n>>,
    params: Option<TsNode<'n>>,
}

/// The last name and its qualifier of a (possibly nested) qualified identifier.
fn qualified(mut n: TsNode<'_>) -> (Sym, Sym) {
    let mut qual = Sym::NONE;
    for _ in 0..64 {
        if n.kind() != "qualified_identifier" {
            break;
        }
        if let Some(s) = n.field(F::Scope) {
            qual = match s.kind() {
                "template_type" => s.field(F::Name).map_or(sym(s), sym),
                _ => sym(s),
            };
        }
        match n.field(F::Name) {
            Some(x) => n = x,
            None => break,
        }
    }
    if n.kind() == "template_function" || n.kind() == "template_type" {
        if let Some(x) = n.field(F::Name) {
            n = x;
        }
    }
    (sym(n), qual)
}

/// The name of a type specifier (`std::unique_ptr<T>` → `unique_ptr`).
fn type_name_sym(mut t: TsNode<'_>) -> Sym {
    for _ in 0..16 {
        match t.kind() {
            "qualified_identifier" | "template_type" => match t.field(F::Name) {
                Some(x) => t = x,
                None => break,
            },
            _ => break,
        }
    }
    sym(t)
}

fn last_name(text: &str) -> &str {
    let text = text.split('<').next().unwrap_or(text);
    text.rsplit("::").next().unwrap_or(text).trim()
}

fn to_u32(x: usize) -> u32 {
    u32::try_from(x).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod field_tests {
    use super::*;

    #[test]
    fn every_field_the_lowering_reads_exists_in_a_grammar() {
        let c: tree_sitter::Language = tree_sitter_c::LANGUAGE.into();
        let cpp: tree_sitter::Language = tree_sitter_cpp::LANGUAGE.into();
        for name in FIELD_NAMES {
            // `index` is C's subscript field, `indices` C++'s.
            assert!(
                c.field_id_for_name(name).is_some() || cpp.field_id_for_name(name).is_some(),
                "no field `{name}` in the C or C++ grammar"
            );
        }
        use_fields(&cpp);
        let ids = FIELD_IDS.with(std::cell::Cell::get);
        assert_eq!(
            Some(ids[F::Value as usize]),
            cpp.field_id_for_name("value").map(u16::from)
        );
    }
}
