//! The one intermediate representation every rule reads, whatever the source language.
//!
//! A front-end ([`crate::front`]) lowers one file into a [`Unit`]: its functions (with their
//! owner type, parameters and return type), its type declarations (fields, whether a
//! destructor exists), its statics, and every function body as a flat arena of [`Node`]s in
//! source pre-order. A node's subtree is the contiguous range `id + 1 .. node.last`, so rules
//! search a body with slice scans instead of recursion: no rule can overflow the stack, and a
//! search costs what the subtree holds.
//!
//! Names are byte ranges into the file's text ([`Sym`]), so lowering allocates almost nothing.

use std::ops::Range;

/// A byte range of the file's text (an identifier, a literal, a path segment).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sym {
    /// First byte.
    pub start: u32,
    /// Length in bytes; 0 for "none".
    pub len: u32,
}

impl Sym {
    /// No name.
    pub const NONE: Sym = Sym { start: 0, len: 0 };

    /// The byte range `start..end`.
    #[must_use]
    pub fn of(range: Range<usize>) -> Sym {
        let start = u32::try_from(range.start).unwrap_or(u32::MAX);
        let end = u32::try_from(range.end).unwrap_or(u32::MAX);
        Sym {
            start,
            len: end.saturating_sub(start),
        }
    }
}

/// The source language of a unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// Rust, lowered from `syn`.
    Rust,
    /// C or C++, lowered from tree-sitter.
    Cpp,
}

/// What a node is. Children are listed in the order the front-ends emit them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A statement list (function body, branch, loop body). Flag [`UNSAFE`] for `unsafe {}`.
    Block,
    /// `let x: T = init` / `T x = init;`: `name` is the bound variable, `ty` the declared
    /// type; children: `[init]` when there is one. Flags [`MUT`], [`NO_INIT`], [`STATIC`].
    Let,
    /// `target = value` (flag [`COMPOUND`] for `+=` …): children `[target, value]`.
    Assign,
    /// A call of a path: `name` is its last segment, `qual` the one before it
    /// (`File::open` → `File`, `open`); children: the arguments.
    Call,
    /// A method call `recv.name(args)`: children `[recv, args…]`.
    Method,
    /// A macro invocation: `name` is the macro; children: its arguments when they parse as
    /// expressions, else a [`Kind::Path`] per identifier of its body.
    Macro,
    /// `expr as T` / `(T)expr` / `static_cast<T>(expr)`: `ty` the target; children `[expr]`.
    Cast,
    /// A binary operation `op`: children `[left, right]`.
    Binary,
    /// A unary operation `op` (`!`, `-`, `*`, `&`): children `[operand]`.
    Unary,
    /// `base.name` / `base->name`: children `[base]`.
    Field,
    /// `base[index]`: children `[base, index]`.
    Index,
    /// A path or identifier: `name` is its last segment, `qual` the one before.
    Path,
    /// A literal other than a string: `name` is its text.
    Lit,
    /// A string literal (byte and C strings too): `name` is its contents.
    Str,
    /// `if cond { then } else { else }`: children `[cond, then, else?]` (flag [`HAS_ELSE`]).
    If,
    /// `match scrutinee { arms }` / `switch`: children `[scrutinee, arm…]`.
    Match,
    /// A match arm or `case`: `name` is the pattern text; children `[body]`.
    Arm,
    /// A loop: children `[params…, head?, body]` — a `for` loop's bindings as [`Kind::Param`]
    /// then the iterated expression (flag [`FOR`]); a `while` loop's condition.
    Loop,
    /// A binding of a closure or a `for` loop: `name` the variable, `ty` the declared type;
    /// flag [`KEY`] when it binds the key of a map entry pattern (`(k, v)`, `[k, v]`).
    Param,
    /// `return value?`: children `[value?]`.
    Return,
    /// Rust's `expr?`: children `[expr]`.
    Try,
    /// An early-exit macro (`bail!`, `ensure!`, `*_RETURN_IF*`, …) or C++ `throw`: leaves the
    /// function; children: its arguments.
    Exit,
    /// A closure or lambda: children `[params…, body]`; its exits leave the closure.
    Closure,
    /// A struct literal / brace initializer `T { .. }`: `name` is the type; children: values.
    Construct,
    /// Anything else; children: its sub-expressions.
    Other,
}

/// Flag of [`Kind::Block`]: an `unsafe` block.
pub const UNSAFE: u8 = 1;
/// Flag of [`Kind::Let`]: a mutable binding.
pub const MUT: u8 = 2;
/// Flag of [`Kind::Let`]: declared without an initializer (`int rc;`).
pub const NO_INIT: u8 = 4;
/// Flag of [`Kind::Assign`]: a compound assignment (`+=`, …).
pub const COMPOUND: u8 = 8;
/// Flag of [`Kind::If`]: has an `else`.
pub const HAS_ELSE: u8 = 16;
/// Flag of [`Kind::Loop`]: a `for` loop over an iterable.
pub const FOR: u8 = 32;
/// Flag of [`Kind::Param`]: binds the key of a `(key, value)` pattern.
pub const KEY: u8 = 64;
/// Flag of [`Kind::Let`]: a function-local `static` (C/C++).
pub const STATIC: u8 = 128;

/// Operators of [`Kind::Binary`] and [`Kind::Unary`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Not an operator node.
    None,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `&&`
    And,
    /// `||`
    Or,
    /// `+`, `-`, `*`, `/`: arithmetic that keeps a value's magnitude.
    Arith,
    /// `&`, `%`, `>>`, `<<`, `|`, `^`: masks and shifts, deliberate truncation.
    Bits,
    /// Unary `!`
    Not,
    /// Unary `-`
    Neg,
    /// Unary `*`
    Deref,
    /// Unary `&` / `&mut`
    Ref,
}

impl Op {
    /// Whether the operator compares.
    #[must_use]
    pub fn is_comparison(self) -> bool {
        matches!(self, Op::Eq | Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge)
    }
}

/// One node of a function body.
#[derive(Clone, Copy, Debug)]
pub struct Node {
    /// What it is.
    pub kind: Kind,
    /// Its operator (binary and unary nodes).
    pub op: Op,
    /// Kind-specific flags ([`UNSAFE`], [`MUT`], …).
    pub flags: u8,
    /// Its name (see [`Kind`]).
    pub name: Sym,
    /// The path segment before `name` (calls and paths).
    pub qual: Sym,
    /// First byte of its source text.
    pub start: u32,
    /// One past its last byte.
    pub end: u32,
    /// One past the last node of its subtree.
    pub last: u32,
    /// Its parent (itself for a body's root).
    pub parent: u32,
    /// Its declared or target type, an index into [`Unit::tys`] (0: none).
    pub ty: u32,
    /// The `cfg` / `#if` condition it is under, an index into [`Unit::cfgs`] (0: none).
    pub cfg: u32,
}

/// A type as written: `HashMap<K, V>` has name `HashMap` and two arguments.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ty {
    /// The last path segment (`HashMap`, `unordered_map`, `u64`, `uint64_t`).
    pub name: String,
    /// Generic / template arguments, as indices into [`Unit::tys`].
    pub args: Vec<u32>,
    /// A raw pointer or C pointer (`*mut T`, `T*`).
    pub pointer: bool,
    /// A reference or `Weak` (owns nothing).
    pub reference: bool,
    /// An array `[T; N]` / `T[N]` (its element is `args[0]`).
    pub array: bool,
}

/// How a function relates to its type's lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FnKind {
    /// An ordinary function or method.
    Plain,
    /// A constructor: a C++ constructor, or a Rust associated function returning `Self`.
    Ctor,
    /// `Drop::drop` or a C++ destructor.
    Dtor,
}

/// A function or method with a body.
#[derive(Clone, Debug)]
pub struct Function {
    /// Its name.
    pub name: String,
    /// The type it belongs to (`impl T`, `class T`, `T::f`), if any.
    pub owner: Option<String>,
    /// The trait of its `impl`, if any.
    pub trait_name: Option<String>,
    /// Callable from outside its type.
    pub is_pub: bool,
    /// Constructor, destructor or neither.
    pub kind: FnKind,
    /// Takes `self` by value (Rust).
    pub consumes_self: bool,
    /// Parameters: name and type index.
    pub params: Vec<(String, u32)>,
    /// Its return type index (0: none).
    pub ret: u32,
    /// Its body, a [`Kind::Block`] node.
    pub body: u32,
    /// Its `cfg` / `#if` condition, as text (empty: none).
    pub cfg: String,
    /// Byte range of the whole function (signature included).
    pub span: (u32, u32),
}

/// A struct, union or class declaration.
#[derive(Clone, Debug, Default)]
pub struct TypeDecl {
    /// Its name.
    pub name: String,
    /// Fields: name and type index.
    pub fields: Vec<(String, u32)>,
    /// It declares a destructor (C++) — Rust `Drop` impls are in [`Unit::drop_impls`].
    pub has_dtor: bool,
    /// Methods declared in its body without a definition there (C++).
    pub methods: Vec<String>,
    /// Byte range of the declaration.
    pub span: (u32, u32),
}

/// A `static` / global variable (function-local statics are [`Kind::Let`] with [`STATIC`]).
#[derive(Clone, Debug)]
pub struct Static {
    /// Its name.
    pub name: String,
    /// Its type index.
    pub ty: u32,
    /// Byte range of the declaration.
    pub span: (u32, u32),
    /// Byte range of its name.
    pub name_span: (u32, u32),
    /// Thread-local (dropped at thread exit).
    pub thread_local: bool,
    /// Initialized with `new T` (a heap singleton never deleted), C++.
    pub leaked_new: bool,
}

/// One lowered file.
pub struct Unit<'t> {
    /// Its language.
    pub lang: Lang,
    /// Its text.
    pub text: &'t str,
    /// Every body's nodes.
    pub nodes: Vec<Node>,
    /// Types, indexed by [`Node::ty`] (entry 0 is "none").
    pub tys: Vec<Ty>,
    /// `cfg` conditions, indexed by [`Node::cfg`] (entry 0 is "none").
    pub cfgs: Vec<String>,
    /// Functions with bodies.
    pub functions: Vec<Function>,
    /// Type declarations.
    pub types: Vec<TypeDecl>,
    /// Types with a `Drop` impl or a destructor defined in this file.
    pub drop_impls: Vec<String>,
    /// Statics and globals.
    pub statics: Vec<Static>,
    /// Declared functions without a body here (prototypes, trait methods): name and return
    /// type index.
    pub signatures: Vec<(String, u32)>,
    /// Byte ranges of items and statements a suppression comment can cover.
    pub extents: Vec<(u32, u32)>,
    /// Regions that did not parse: byte offset and what was wrong. The rest was analyzed.
    pub broken: Vec<(u32, String)>,
}

impl<'t> Unit<'t> {
    /// An empty unit of `text`.
    #[must_use]
    pub fn new(lang: Lang, text: &'t str) -> Self {
        Unit {
            lang,
            text,
            nodes: Vec::new(),
            tys: vec![Ty::default()],
            cfgs: vec![String::new()],
            functions: Vec::new(),
            types: Vec::new(),
            drop_impls: Vec::new(),
            statics: Vec::new(),
            signatures: Vec::new(),
            extents: Vec::new(),
            broken: Vec::new(),
        }
    }

    /// The text of a name ("" when out of range).
    #[must_use]
    pub fn sym(&self, s: Sym) -> &'t str {
        let start = s.start as usize;
        let end = start + s.len as usize;
        self.text.get(start..end).unwrap_or("")
    }

    /// Turns every call and macro invocation whose name `is_exit` accepts into a
    /// [`Kind::Exit`]: a code base's own early-exit macros (`[macros] early_exit`), which the
    /// front-ends cannot know by name.
    pub fn mark_exits(&mut self, is_exit: impl Fn(&str) -> bool) {
        for i in 0..self.nodes.len() {
            let node = self.nodes[i];
            if matches!(node.kind, Kind::Call | Kind::Macro) && is_exit(self.sym(node.name)) {
                self.nodes[i].kind = Kind::Exit;
            }
        }
    }

    /// The node `id`.
    #[must_use]
    pub fn node(&self, id: u32) -> &Node {
        &self.nodes[id as usize]
    }

    /// The name of node `id`.
    #[must_use]
    pub fn name(&self, id: u32) -> &'t str {
        self.sym(self.nodes[id as usize].name)
    }

    /// The qualifier of node `id` (`File` in `File::open`).
    #[must_use]
    pub fn qual(&self, id: u32) -> &'t str {
        self.sym(self.nodes[id as usize].qual)
    }

    /// The source text of node `id`.
    #[must_use]
    pub fn src(&self, id: u32) -> &'t str {
        let n = &self.nodes[id as usize];
        self.text
            .get(n.start as usize..n.end as usize)
            .unwrap_or("")
    }

    /// The type `i` (`None` for index 0).
    #[must_use]
    pub fn ty(&self, i: u32) -> Option<&Ty> {
        if i == 0 {
            None
        } else {
            self.tys.get(i as usize)
        }
    }

    /// The ids of `id`'s direct children, in order.
    pub fn children(&self, id: u32) -> Children<'_, 't> {
        Children {
            unit: self,
            next: id + 1,
            end: self.nodes[id as usize].last,
        }
    }

    /// The `i`-th child of `id`.
    #[must_use]
    pub fn child(&self, id: u32, i: usize) -> Option<u32> {
        self.children(id).nth(i)
    }

    /// The ids of `id`'s descendants, in pre-order.
    #[must_use]
    pub fn descendants(&self, id: u32) -> Range<u32> {
        id + 1..self.nodes[id as usize].last
    }

    /// The ids of `id` and its descendants.
    #[must_use]
    pub fn subtree(&self, id: u32) -> Range<u32> {
        id..self.nodes[id as usize].last
    }

    /// Whether `inner` is `outer` or inside it.
    #[must_use]
    pub fn contains(&self, outer: u32, inner: u32) -> bool {
        self.subtree(outer).contains(&inner)
    }

    /// The parent of `id` (itself at a root).
    #[must_use]
    pub fn parent(&self, id: u32) -> u32 {
        self.nodes[id as usize].parent
    }

    /// The ancestors of `id`, nearest first, `id` excluded.
    pub fn ancestors(&self, id: u32) -> impl Iterator<Item = u32> + '_ {
        let mut at = id;
        std::iter::from_fn(move || {
            let p = self.parent(at);
            (p != at).then(|| {
                at = p;
                p
            })
        })
    }

    /// Strips wrappers that do not change a value: one-expression blocks (`unsafe { e }`),
    /// `?`-free parentheses, pointer casts, `.cast()`, C++ `reinterpret_cast`.
    #[must_use]
    pub fn peel(&self, mut id: u32) -> u32 {
        loop {
            let n = self.node(id);
            let next = match n.kind {
                Kind::Block | Kind::Other if self.children(id).count() == 1 => self.child(id, 0),
                Kind::Cast if self.ty(n.ty).is_some_and(|t| t.pointer) => self.child(id, 0),
                Kind::Method if matches!(self.name(id), "cast" | "cast_mut" | "cast_const") => {
                    self.child(id, 0)
                }
                _ => None,
            };
            match next {
                Some(c) => id = c,
                None => return id,
            }
        }
    }

    /// Whether node `id`'s subtree mentions the variable `var` (a one-segment path).
    #[must_use]
    pub fn mentions(&self, id: u32, var: &str) -> bool {
        self.subtree(id).any(|i| self.is_var(i, var))
    }

    /// Whether node `id` is the variable `var` itself.
    #[must_use]
    pub fn is_var(&self, id: u32, var: &str) -> bool {
        let n = self.node(id);
        n.kind == Kind::Path && n.qual.len == 0 && self.sym(n.name) == var
    }

    /// The variable node `id` names after peeling (`x`, `&x`, `*x`, `(x)`), if it is one.
    #[must_use]
    pub fn var_of(&self, id: u32) -> Option<&'t str> {
        let id = self.peel(id);
        let n = self.node(id);
        match n.kind {
            Kind::Path if n.qual.len == 0 => Some(self.sym(n.name)),
            Kind::Unary if matches!(n.op, Op::Ref | Op::Deref) => {
                self.child(id, 0).and_then(|c| self.var_of(c))
            }
            _ => None,
        }
    }

    /// The early exits in `id`'s subtree (`return`, `?`, exit macros, `throw`), not counting
    /// those inside closures.
    pub fn exits(&self, id: u32) -> impl Iterator<Item = u32> + '_ {
        let range = self.subtree(id);
        let mut i = range.start;
        let end = range.end;
        std::iter::from_fn(move || {
            while i < end {
                let at = i;
                let n = self.node(at);
                if n.kind == Kind::Closure {
                    i = n.last;
                    continue;
                }
                i += 1;
                if matches!(n.kind, Kind::Return | Kind::Try | Kind::Exit) {
                    return Some(at);
                }
            }
            None
        })
    }

    /// The nearest enclosing statement list of `id` (a [`Kind::Block`]), if any.
    #[must_use]
    pub fn enclosing_block(&self, id: u32) -> Option<u32> {
        self.ancestors(id)
            .find(|&a| self.node(a).kind == Kind::Block)
    }

    /// Whether `a` (earlier in the source) runs on every path that reaches `b`: between `a` and
    /// the nearest node containing both, no step is conditional (an `if` / `match` branch, a
    /// loop body, a closure, the right side of `&&` / `||`). This is dominance in structured
    /// code without `goto`.
    #[must_use]
    pub fn dominates(&self, a: u32, b: u32) -> bool {
        if a >= b || self.contains(a, b) {
            return false;
        }
        let mut x = a;
        loop {
            let p = self.parent(x);
            if p == x {
                return false;
            }
            let pn = self.node(p);
            let first = p + 1 == x;
            let conditional = match pn.kind {
                Kind::If | Kind::Match => !first,
                Kind::Loop => self.children(p).last() == Some(x) || pn.flags & FOR == 0 && !first,
                Kind::Closure => true,
                Kind::Binary => matches!(pn.op, Op::And | Op::Or) && !first,
                Kind::Arm => true,
                _ => false,
            };
            if self.contains(p, b) {
                // `p` holds both: `a`'s side must not be a branch `b` is not in.
                return !conditional || self.contains(x, b);
            }
            if conditional {
                return false;
            }
            x = p;
        }
    }

    /// Whether the statement list or branch `id` always leaves the function: its last
    /// statement is (or ends in) an exit.
    #[must_use]
    pub fn always_exits(&self, id: u32) -> bool {
        let n = self.node(id);
        match n.kind {
            Kind::Return | Kind::Exit => true,
            Kind::Block => self
                .children(id)
                .last()
                .is_some_and(|last| self.always_exits(last)),
            Kind::Other if self.children(id).count() == 1 => {
                self.child(id, 0).is_some_and(|c| self.always_exits(c))
            }
            _ => false,
        }
    }

    /// The `cfg` text of `id`'s nearest conditioned ancestor (or itself); "" when none.
    #[must_use]
    pub fn cfg_of(&self, id: u32) -> &str {
        std::iter::once(id)
            .chain(self.ancestors(id))
            .map(|a| self.node(a).cfg)
            .find(|&c| c != 0)
            .map_or("", |c| self.cfgs[c as usize].as_str())
    }

    /// The type of the field `field` of type `owner`, when this unit declares it.
    #[must_use]
    pub fn field_type(&self, owner: &str, field: &str) -> Option<&Ty> {
        self.types
            .iter()
            .filter(|t| t.name == owner)
            .flat_map(|t| &t.fields)
            .find(|(name, _)| name == field)
            .and_then(|&(_, ty)| self.ty(ty))
    }

    /// Whether type `i` is (after references) one of `names`, or wraps one of them through
    /// the wrappers in `through` (`Arc<Mutex<HashMap<..>>>` with `through = [Arc, Mutex]`).
    #[must_use]
    pub fn ty_is_or_wraps(&self, i: u32, names: &[&str], through: &[&str]) -> bool {
        let Some(ty) = self.ty(i) else { return false };
        if names.contains(&ty.name.as_str()) {
            return true;
        }
        through.contains(&ty.name.as_str())
            && ty
                .args
                .iter()
                .any(|&a| self.ty_is_or_wraps(a, names, through))
    }
}

/// Iterator over a node's direct children.
pub struct Children<'u, 't> {
    unit: &'u Unit<'t>,
    next: u32,
    end: u32,
}

impl Iterator for Children<'_, '_> {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        if self.next >= self.end {
            return None;
        }
        let at = self.next;
        self.next = self.unit.nodes[at as usize].last;
        Some(at)
    }
}

/// Builds a [`Unit`]'s arena in pre-order: `open` a node, emit its children, `close` it.
pub struct Builder {
    stack: Vec<u32>,
}

impl Builder {
    /// A builder with no open node.
    #[must_use]
    pub fn new() -> Self {
        Builder { stack: Vec::new() }
    }

    /// Opens a node; its children are the nodes opened until the matching [`Builder::close`].
    pub fn open(&mut self, unit: &mut Unit<'_>, kind: Kind, range: (usize, usize)) -> u32 {
        let id = u32::try_from(unit.nodes.len()).unwrap_or(u32::MAX);
        let parent = self.stack.last().copied().unwrap_or(id);
        unit.nodes.push(Node {
            kind,
            op: Op::None,
            flags: 0,
            name: Sym::NONE,
            qual: Sym::NONE,
            start: u32::try_from(range.0).unwrap_or(u32::MAX),
            end: u32::try_from(range.1).unwrap_or(u32::MAX),
            last: id + 1,
            parent,
            ty: 0,
            cfg: 0,
        });
        self.stack.push(id);
        id
    }

    /// Closes the innermost open node.
    pub fn close(&mut self, unit: &mut Unit<'_>) {
        if let Some(id) = self.stack.pop() {
            let last = u32::try_from(unit.nodes.len()).unwrap_or(u32::MAX);
            unit.nodes[id as usize].last = last;
        }
    }

    /// A node without children.
    pub fn leaf(&mut self, unit: &mut Unit<'_>, kind: Kind, range: (usize, usize)) -> u32 {
        let id = self.open(unit, kind, range);
        self.close(unit);
        id
    }

    /// How many nodes are open (the current depth).
    #[must_use]
    pub fn depth(&self) -> usize {
        self.stack.len()
    }
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

/// Adds a type to the unit's table and returns its index.
pub fn add_ty(unit: &mut Unit<'_>, ty: Ty) -> u32 {
    unit.tys.push(ty);
    u32::try_from(unit.tys.len() - 1).unwrap_or(0)
}

/// Adds a `cfg` condition to the unit's table and returns its index.
pub fn add_cfg(unit: &mut Unit<'_>, cfg: String) -> u32 {
    if cfg.is_empty() {
        return 0;
    }
    unit.cfgs.push(cfg);
    u32::try_from(unit.cfgs.len() - 1).unwrap_or(0)
}
