//! What the rules know about one file: its declarations (struct fields, `Drop` impls) and its
//! functions with the type and trait they belong to.
//!
//! The analyzer has no type checker: "known from the file's declarations" is exactly this.

use std::collections::{HashMap, HashSet};

use syn::visit::Visit;
use syn::{Attribute, Block, Signature, Type};

use crate::syntax::{cfg_of, type_name};

/// One parsed file and the facts gathered from its declarations.
pub struct FileContext<'a> {
    /// The syntax tree.
    pub file: &'a syn::File,
    /// Struct name → its fields (name, or index for tuple structs, and type).
    pub structs: HashMap<String, Vec<(String, Type)>>,
    /// Field name → the types of fields of that name across the file's structs.
    pub field_types: HashMap<String, Vec<Type>>,
    /// Types of the file that implement `Drop`.
    pub drop_types: HashSet<String>,
    /// Every function body of the file, methods and nested functions included.
    pub functions: Vec<Function<'a>>,
}

/// A function or method with a body.
pub struct Function<'a> {
    /// Its name.
    pub name: String,
    /// Its signature.
    pub sig: &'a Signature,
    /// Its body.
    pub block: &'a Block,
    /// The type of the `impl` it is in (last path segment), if any.
    pub self_ty: Option<String>,
    /// The trait of the `impl` it is in (last path segment), if any.
    pub trait_name: Option<String>,
    /// Whether it is callable from outside the type (`pub`, `pub(crate)`, …, or a trait method).
    pub is_pub: bool,
    /// The `cfg` predicates on it and on its `impl`, as text.
    pub cfg: String,
}

impl<'a> FileContext<'a> {
    /// Gathers the facts of a parsed file.
    #[must_use]
    pub fn new(file: &'a syn::File) -> Self {
        let mut collector = Collector {
            ctx: FileContext {
                file,
                structs: HashMap::new(),
                field_types: HashMap::new(),
                drop_types: HashSet::new(),
                functions: Vec::new(),
            },
            impl_stack: Vec::new(),
        };
        collector.visit_file(file);
        collector.ctx
    }

    /// The type of field `field` of struct `ty`, when the file declares it.
    #[must_use]
    pub fn field_type(&self, ty: &str, field: &str) -> Option<&Type> {
        self.structs
            .get(ty)?
            .iter()
            .find(|(name, _)| name == field)
            .map(|(_, t)| t)
    }

    /// Whether any struct of the file declares a field `field` whose type satisfies `pred`.
    pub fn any_field_type(&self, field: &str, pred: impl Fn(&Type) -> bool) -> bool {
        self.field_types
            .get(field)
            .is_some_and(|types| types.iter().any(pred))
    }
}

struct ImplFrame {
    self_ty: Option<String>,
    trait_name: Option<String>,
    cfg: String,
}

struct Collector<'a> {
    ctx: FileContext<'a>,
    impl_stack: Vec<ImplFrame>,
}

impl Collector<'_> {
    fn impl_cfg(&self, attrs: &[Attribute]) -> String {
        let mut cfg = self
            .impl_stack
            .last()
            .map(|f| f.cfg.clone())
            .unwrap_or_default();
        let own = cfg_of(attrs);
        if !own.is_empty() {
            if !cfg.is_empty() {
                cfg.push_str(" & ");
            }
            cfg.push_str(&own);
        }
        cfg
    }
}

impl<'a> Visit<'a> for Collector<'a> {
    fn visit_item_struct(&mut self, node: &'a syn::ItemStruct) {
        let name = node.ident.to_string();
        let mut fields = Vec::new();
        for (index, field) in node.fields.iter().enumerate() {
            let field_name = field
                .ident
                .as_ref()
                .map_or_else(|| index.to_string(), ToString::to_string);
            self.ctx
                .field_types
                .entry(field_name.clone())
                .or_default()
                .push(field.ty.clone());
            fields.push((field_name, field.ty.clone()));
        }
        self.ctx.structs.entry(name).or_default().extend(fields);
        syn::visit::visit_item_struct(self, node);
    }

    fn visit_item_impl(&mut self, node: &'a syn::ItemImpl) {
        let self_ty = type_name(&node.self_ty);
        let trait_name = node
            .trait_
            .as_ref()
            .and_then(|(_, p, _)| crate::syntax::last_segment(p));
        if trait_name.as_deref() == Some("Drop") {
            if let Some(ty) = &self_ty {
                self.ctx.drop_types.insert(ty.clone());
            }
        }
        let cfg = self.impl_cfg(&node.attrs);
        self.impl_stack.push(ImplFrame {
            self_ty,
            trait_name,
            cfg,
        });
        syn::visit::visit_item_impl(self, node);
        self.impl_stack.pop();
    }

    fn visit_item_fn(&mut self, node: &'a syn::ItemFn) {
        // A free function (possibly nested in another body): no impl around it.
        let saved = std::mem::take(&mut self.impl_stack);
        self.ctx.functions.push(Function {
            name: node.sig.ident.to_string(),
            sig: &node.sig,
            block: &node.block,
            self_ty: None,
            trait_name: None,
            is_pub: !matches!(node.vis, syn::Visibility::Inherited),
            cfg: cfg_of(&node.attrs),
        });
        syn::visit::visit_item_fn(self, node);
        self.impl_stack = saved;
    }

    fn visit_impl_item_fn(&mut self, node: &'a syn::ImplItemFn) {
        let frame = self.impl_stack.last();
        let trait_name = frame.and_then(|f| f.trait_name.clone());
        let cfg = self.impl_cfg(&node.attrs);
        self.ctx.functions.push(Function {
            name: node.sig.ident.to_string(),
            sig: &node.sig,
            block: &node.block,
            self_ty: frame.and_then(|f| f.self_ty.clone()),
            is_pub: trait_name.is_some() || !matches!(node.vis, syn::Visibility::Inherited),
            trait_name,
            cfg,
        });
        let saved = std::mem::take(&mut self.impl_stack);
        syn::visit::visit_impl_item_fn(self, node);
        self.impl_stack = saved;
    }

    fn visit_trait_item_fn(&mut self, node: &'a syn::TraitItemFn) {
        if let Some(block) = &node.default {
            self.ctx.functions.push(Function {
                name: node.sig.ident.to_string(),
                sig: &node.sig,
                block,
                self_ty: None,
                trait_name: None,
                is_pub: true,
                cfg: cfg_of(&node.attrs),
            });
        }
        syn::visit::visit_trait_item_fn(self, node);
    }
}
