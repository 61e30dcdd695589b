//! Small syntax helpers the rules share: names of calls, token searches, exits, macro bodies.
//!
//! The analyzer has no type information, so the rules reason about names and shapes. These
//! helpers keep that reasoning in one place: what counts as "a call named `x`", "an expression
//! that mentions `h`", "a place where the function can return early".

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::punctuated::Punctuated;
use syn::visit::Visit;
use syn::{Expr, Macro, Path, Token, Type};

/// The last identifier of a path (`libc::open` → `open`).
pub fn last_segment(path: &Path) -> Option<String> {
    path.segments.last().map(|s| s.ident.to_string())
}

/// The segment before the last one (`File::open` → `File`), if any.
pub fn parent_segment(path: &Path) -> Option<String> {
    let n = path.segments.len();
    if n < 2 {
        return None;
    }
    path.segments.iter().nth(n - 2).map(|s| s.ident.to_string())
}

/// The path of a call's function (`f(..)`, `a::b(..)`), if the callee is a plain path.
pub fn call_path(expr: &Expr) -> Option<&Path> {
    match expr {
        Expr::Call(call) => match &*call.func {
            Expr::Path(p) => Some(&p.path),
            _ => None,
        },
        _ => None,
    }
}

/// The name a call or method call is known by: the last path segment or the method name.
pub fn callee_name(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Call(_) => call_path(expr).and_then(last_segment),
        Expr::MethodCall(m) => Some(m.method.to_string()),
        _ => None,
    }
}

/// Strips parentheses, invisible groups, `unsafe { e }` blocks with one expression, and casts
/// of a pointer-ish kind, so `unsafe { (libc::open(..)) }` is seen as the call itself.
pub fn peel(mut expr: &Expr) -> &Expr {
    loop {
        expr = match expr {
            Expr::Paren(p) => &p.expr,
            Expr::Group(g) => &g.expr,
            Expr::Unsafe(u) if u.block.stmts.len() == 1 => match &u.block.stmts[0] {
                syn::Stmt::Expr(e, None) => e,
                _ => return expr,
            },
            Expr::Block(b) if b.block.stmts.len() == 1 && b.label.is_none() => {
                match &b.block.stmts[0] {
                    syn::Stmt::Expr(e, None) => e,
                    _ => return expr,
                }
            }
            _ => return expr,
        };
    }
}

/// Whether `tokens` contain the identifier `name` anywhere (macro bodies included).
pub fn tokens_mention(tokens: TokenStream, name: &str) -> bool {
    tokens.into_iter().any(|tt| match tt {
        TokenTree::Ident(i) => i == name,
        TokenTree::Group(g) => tokens_mention(g.stream(), name),
        _ => false,
    })
}

/// Whether a syntax node mentions the identifier `name` anywhere (macro bodies included).
pub fn mentions<T: ToTokens>(node: &T, name: &str) -> bool {
    tokens_mention(node.to_token_stream(), name)
}

/// Whether `tokens` contain an identifier for which `pred` holds.
pub fn tokens_any_ident(tokens: TokenStream, pred: &dyn Fn(&str) -> bool) -> bool {
    tokens.into_iter().any(|tt| match tt {
        TokenTree::Ident(i) => pred(&i.to_string()),
        TokenTree::Group(g) => tokens_any_ident(g.stream(), pred),
        _ => false,
    })
}

/// The expressions of a function-like macro's body, when it is a comma-separated list of
/// expressions (`println!`, `vec!`, `assert!`, `format!`, most logging macros).
pub fn macro_exprs(mac: &Macro) -> Vec<Expr> {
    if let Ok(list) = mac.parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated) {
        return list.into_iter().collect();
    }
    // `vec![elem; n]`, `[x; n]`-style bodies.
    mac.parse_body_with(Punctuated::<Expr, Token![;]>::parse_terminated)
        .map(|p| p.into_iter().collect())
        .unwrap_or_default()
}

/// Last segment of a macro's path (`tracing::warn!` → `warn`).
pub fn macro_name(mac: &Macro) -> String {
    last_segment(&mac.path).unwrap_or_default()
}

/// Printing and logging macros: they call into the OS or the allocator and so may overwrite
/// `errno` / the thread's last error.
pub fn is_print_or_log_macro(name: &str) -> bool {
    matches!(
        name,
        "println"
            | "eprintln"
            | "print"
            | "eprint"
            | "error"
            | "warn"
            | "info"
            | "debug"
            | "trace"
            | "event"
            | "log"
            | "write"
            | "writeln"
            | "dbg"
    )
}

/// The last identifier of a type path after peeling references (`&mut HashMap<K, V>` →
/// `HashMap`).
pub fn type_name(ty: &Type) -> Option<String> {
    match ty {
        Type::Reference(r) => type_name(&r.elem),
        Type::Paren(p) => type_name(&p.elem),
        Type::Group(g) => type_name(&g.elem),
        Type::Path(p) => last_segment(&p.path),
        _ => None,
    }
}

/// The generic type arguments of a type's last path segment (`Arc<Mutex<T>>` → `[Mutex<T>]`).
pub fn type_args(ty: &Type) -> Vec<&Type> {
    let ty = match ty {
        Type::Reference(r) => &*r.elem,
        other => other,
    };
    let Type::Path(p) = ty else { return Vec::new() };
    let Some(seg) = p.path.segments.last() else {
        return Vec::new();
    };
    let syn::PathArguments::AngleBracketed(args) = &seg.arguments else {
        return Vec::new();
    };
    args.args
        .iter()
        .filter_map(|a| match a {
            syn::GenericArgument::Type(t) => Some(t),
            _ => None,
        })
        .collect()
}

/// Whether the type is (after references) one of `names`, or wraps one of them through the
/// transparent wrappers in `through` (`Arc<Mutex<HashMap<..>>>` with `through = [Arc, Mutex]`).
pub fn type_is_or_wraps(ty: &Type, names: &[&str], through: &[&str]) -> bool {
    let Some(name) = type_name(ty) else {
        return false;
    };
    if names.contains(&name.as_str()) {
        return true;
    }
    through.contains(&name.as_str())
        && type_args(ty)
            .into_iter()
            .any(|t| type_is_or_wraps(t, names, through))
}

/// Where a function body can leave early: `?` and `return` (not inside closures, async blocks
/// or nested items, which return from somewhere else), and `bail!` / `ensure!` style macros.
#[derive(Default)]
pub struct Exits {
    /// The span of each early exit, in source order.
    pub spans: Vec<Span>,
}

impl Exits {
    /// The early exits inside one node.
    pub fn of<T: ExitSearch + ?Sized>(node: &T) -> Vec<Span> {
        let mut exits = Exits::default();
        node.search(&mut exits);
        exits.spans
    }
}

/// Nodes [`Exits`] can search.
pub trait ExitSearch {
    /// Records this node's early exits.
    fn search(&self, exits: &mut Exits);
}

impl ExitSearch for Expr {
    fn search(&self, exits: &mut Exits) {
        exits.visit_expr(self);
    }
}

impl ExitSearch for syn::Stmt {
    fn search(&self, exits: &mut Exits) {
        exits.visit_stmt(self);
    }
}

impl ExitSearch for syn::Block {
    fn search(&self, exits: &mut Exits) {
        exits.visit_block(self);
    }
}

impl<'ast> Visit<'ast> for Exits {
    fn visit_expr_try(&mut self, node: &'ast syn::ExprTry) {
        syn::visit::visit_expr_try(self, node);
        self.spans.push(node.question_token.span);
    }
    fn visit_expr_return(&mut self, node: &'ast syn::ExprReturn) {
        syn::visit::visit_expr_return(self, node);
        self.spans.push(node.return_token.span);
    }
    fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
    fn visit_expr_async(&mut self, _: &'ast syn::ExprAsync) {}
    fn visit_item(&mut self, _: &'ast syn::Item) {}
    fn visit_macro(&mut self, mac: &'ast Macro) {
        let name = macro_name(mac);
        if matches!(name.as_str(), "bail" | "ensure" | "try") {
            self.spans.push(
                mac.path
                    .segments
                    .last()
                    .map_or_else(Span::call_site, |s| s.ident.span()),
            );
        }
        for e in macro_exprs(mac) {
            self.visit_expr(&e);
        }
    }
}

/// The `#[cfg(..)]` predicates of a list of attributes, as text (empty when there are none).
pub fn cfg_of(attrs: &[syn::Attribute]) -> String {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("cfg"))
        .map(|a| a.meta.to_token_stream().to_string())
        .collect::<Vec<_>>()
        .join(" & ")
}

/// The text of a node's tokens, for comparing receivers (`self.lib` vs `other.lib`).
pub fn text<T: ToTokens>(node: &T) -> String {
    node.to_token_stream().to_string()
}

/// The first string, byte-string or C-string literal in a node's tokens, with a trailing NUL
/// removed (`b"cuInit\0"` and `c"cuInit"` both give `cuInit`).
pub fn first_string_literal<T: ToTokens>(node: &T) -> Option<String> {
    fn search(tokens: TokenStream) -> Option<String> {
        for tt in tokens {
            match tt {
                TokenTree::Literal(l) => {
                    if let Ok(lit) = syn::parse_str::<syn::Lit>(&l.to_string()) {
                        let value = match lit {
                            syn::Lit::Str(s) => s.value(),
                            syn::Lit::ByteStr(b) => {
                                String::from_utf8_lossy(&b.value()).into_owned()
                            }
                            syn::Lit::CStr(c) => c.value().to_string_lossy().into_owned(),
                            _ => continue,
                        };
                        return Some(value.trim_end_matches('\0').to_owned());
                    }
                }
                TokenTree::Group(g) => {
                    if let Some(found) = search(g.stream()) {
                        return Some(found);
                    }
                }
                _ => {}
            }
        }
        None
    }
    search(node.to_token_stream())
}

/// Whether a name looks like a type or enum variant (`File`, `Some`, `OwnedFd`): calls to such
/// paths construct a value that takes ownership of their arguments.
pub fn is_capitalized(name: &str) -> bool {
    name.chars().next().is_some_and(char::is_uppercase)
}

/// Whether a path segment is a `windows-sys` / `windows` module (`Win32::System::Memory`, …):
/// capitalized like a type, but `Module::Function(..)` under it is an FFI call, not a
/// constructor.
pub fn is_win32_module(segment: &str) -> bool {
    matches!(
        segment,
        "Foundation"
            | "FileSystem"
            | "Memory"
            | "LibraryLoader"
            | "IO"
            | "Threading"
            | "Win32"
            | "System"
            | "Storage"
            | "Com"
    )
}

/// First words of Win32 functions: capitalized like types, but calls.
const WIN32_VERBS: &[&str] = &[
    "Create",
    "Open",
    "Get",
    "Set",
    "Read",
    "Write",
    "Map",
    "Unmap",
    "Virtual",
    "Load",
    "Free",
    "Close",
    "Device",
    "Flush",
    "Query",
    "Duplicate",
    "Wait",
    "Lock",
    "Unlock",
    "Find",
    "Nt",
    "Zw",
    "Rtl",
    "Heap",
    "Local",
    "Global",
    "Reg",
    "Prefetch",
    "Discard",
    "Offer",
    "Reclaim",
    "Co",
    "WSA",
];

/// Whether a capitalized name looks like a Win32 function (`CreateFileW`, `GetFileSizeEx`)
/// rather than a type or enum variant (`OwnedHandle`, `Some`).
pub fn is_win32_function(name: &str) -> bool {
    WIN32_VERBS.iter().any(|v| {
        name.strip_prefix(v).is_some_and(|rest| {
            rest.is_empty() || rest.starts_with(|c: char| c.is_ascii_uppercase())
        })
    })
}
