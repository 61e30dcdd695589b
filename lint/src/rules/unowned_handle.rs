//! `unowned_handle`: a raw OS handle that can reach an early return before anything owns it.
//!
//! Shape: `let h = unsafe { CreateFileW(..) };` (or `open`, `mmap`, `dlopen`, …) bound to a
//! plain variable, then a `?` or `return` that does not pass `h` on, before `h` is wrapped in
//! an owning type (`OwnedFd::from_raw_fd`, `Handle(h)`, a struct literal), stored, returned, or
//! released (`close`, `CloseHandle`, `munmap`, …). The failure check of `h` itself
//! (`if h == INVALID_HANDLE_VALUE { return .. }`) is not a leak and is skipped.

use proc_macro2::Span;
use syn::visit::Visit;
use syn::{Expr, Pat, Stmt};

use crate::context::FileContext;
use crate::finding::Severity;
use crate::rules::{Hit, Rule};
use crate::syntax::{
    Exits, is_capitalized, is_win32_module, last_segment, mentions, parent_segment, peel,
};

/// The rule.
pub const RULE: Rule = Rule {
    id: "unowned_handle",
    summary: "a raw OS handle can reach an early return before it is owned or released",
    why: "a raw fd / HANDLE / mapping / library handle is an integer or pointer: nothing closes \
          it when the function returns early, so every failure after the acquire leaks one",
    fix: "wrap the handle in an owning type (`OwnedFd::from_raw_fd`, `OwnedHandle::from_raw_handle`, \
          a type with `Drop`) right after its failure check, before anything else can fail",
    default_severity: Severity::Error,
    check,
};

/// Windows acquire calls: distinctive names, recognised with any path.
const WINDOWS_ACQUIRE: &[&str] = &[
    "CreateFileW",
    "CreateFileA",
    "CreateFile2",
    "CreateFileMappingW",
    "CreateFileMappingA",
    "CreateFileMapping2",
    "CreateFileMappingNumaW",
    "OpenFileMappingW",
    "OpenFileMappingA",
    "MapViewOfFile",
    "MapViewOfFileEx",
    "MapViewOfFile3",
    "LoadLibraryW",
    "LoadLibraryA",
    "LoadLibraryExW",
    "LoadLibraryExA",
    "CreateEventW",
    "CreateEventA",
    "OpenProcess",
    "CreateNamedPipeW",
    "CreateIoCompletionPort",
    "FindFirstFileW",
    "VirtualAlloc",
];

/// POSIX acquire calls: common words, so recognised only as FFI calls (inside `unsafe`, with a
/// module path or none, never `File::open`).
const POSIX_ACQUIRE: &[&str] = &[
    "open",
    "open64",
    "openat",
    "openat64",
    "creat",
    "mmap",
    "mmap64",
    "dlopen",
    "dlmopen",
    "memfd_create",
    "shm_open",
    "socket",
    "accept",
    "accept4",
    "dup",
    "dup3",
    "eventfd",
    "epoll_create",
    "epoll_create1",
    "inotify_init1",
    "timerfd_create",
    "signalfd",
    "fopen",
    "opendir",
    "userfaultfd",
];

/// Calls that release a raw handle passed to them.
const RELEASE: &[&str] = &[
    "close",
    "CloseHandle",
    "munmap",
    "UnmapViewOfFile",
    "dlclose",
    "FreeLibrary",
    "fclose",
    "closedir",
    "VirtualFree",
    "FindClose",
    "shm_unlink",
    "from_raw_fd",
    "from_raw_handle",
    "from_raw_socket",
    "from_raw",
];

fn check(ctx: &FileContext<'_>) -> Vec<Hit> {
    let mut hits = Vec::new();
    for function in &ctx.functions {
        let mut blocks = Blocks::default();
        blocks.visit_block(function.block);
        let fn_unsafe = function.sig.unsafety.is_some();
        for block in blocks.found {
            check_block(&block.stmts, fn_unsafe, &mut hits);
        }
    }
    hits
}

fn check_block(stmts: &[Stmt], fn_unsafe: bool, hits: &mut Vec<Hit>) {
    for (i, stmt) in stmts.iter().enumerate() {
        let Stmt::Local(local) = stmt else { continue };
        let Some(name) = bound_ident(&local.pat) else {
            continue;
        };
        let Some(init) = &local.init else { continue };
        let mut finder = AcquireFinder {
            in_unsafe: fn_unsafe,
            wrapped: 0,
            found: None,
        };
        finder.visit_expr(&init.expr);
        let Some((acquire, line)) = finder.found else {
            continue;
        };
        if let Flow::Leak(span) = scan_stmts(&stmts[i + 1..], &name) {
            hits.push(Hit::at(
                span,
                format!(
                    "`{name}` holds a raw handle from `{acquire}` (line {line}) that is neither \
                     owned nor released when this exit leaves the function"
                ),
            ));
        }
    }
}

/// The identifier a `let` binds, for `let h`, `let mut h`, `let h: T`.
fn bound_ident(pat: &Pat) -> Option<String> {
    match pat {
        Pat::Ident(p) if p.subpat.is_none() => Some(p.ident.to_string()),
        Pat::Type(t) => bound_ident(&t.pat),
        _ => None,
    }
}

/// Every block of a function body (closures and nested blocks included).
#[derive(Default)]
struct Blocks<'a> {
    found: Vec<&'a syn::Block>,
}

impl<'a> Visit<'a> for Blocks<'a> {
    fn visit_block(&mut self, node: &'a syn::Block) {
        self.found.push(node);
        syn::visit::visit_block(self, node);
    }
    fn visit_item(&mut self, _: &'a syn::Item) {}
}

/// Finds an acquire call in a `let` initializer that is not already wrapped by an owner.
struct AcquireFinder {
    in_unsafe: bool,
    wrapped: usize,
    found: Option<(String, usize)>,
}

impl<'a> Visit<'a> for AcquireFinder {
    fn visit_expr_unsafe(&mut self, node: &'a syn::ExprUnsafe) {
        let saved = self.in_unsafe;
        self.in_unsafe = true;
        syn::visit::visit_expr_unsafe(self, node);
        self.in_unsafe = saved;
    }
    fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
    fn visit_expr_call(&mut self, node: &'a syn::ExprCall) {
        if let Expr::Path(p) = &*node.func {
            let path = &p.path;
            if self.wrapped == 0 && self.found.is_none() && is_acquire(path, self.in_unsafe) {
                let name = last_segment(path).unwrap_or_default();
                let line = path
                    .segments
                    .last()
                    .map_or(0, |s| s.ident.span().start().line);
                self.found = Some((name, line));
            }
            if is_owner_call(path) {
                self.wrapped += 1;
                syn::visit::visit_expr_call(self, node);
                self.wrapped -= 1;
                return;
            }
        }
        syn::visit::visit_expr_call(self, node);
    }
}

fn is_acquire(path: &syn::Path, in_unsafe: bool) -> bool {
    let Some(name) = last_segment(path) else {
        return false;
    };
    if WINDOWS_ACQUIRE.contains(&name.as_str()) {
        return true;
    }
    in_unsafe
        && POSIX_ACQUIRE.contains(&name.as_str())
        && parent_segment(path).is_none_or(|p| !is_capitalized(&p))
}

/// Whether a call takes ownership of (or releases) the handles passed to it: a release call, a
/// constructor (`Handle(h)`, `Some(h)`), or an associated function of a type (`OwnedFd::…`).
fn is_owner_call(path: &syn::Path) -> bool {
    let Some(name) = last_segment(path) else {
        return false;
    };
    if RELEASE.contains(&name.as_str()) {
        return true;
    }
    if WINDOWS_ACQUIRE.contains(&name.as_str()) || POSIX_ACQUIRE.contains(&name.as_str()) {
        return false;
    }
    if is_capitalized(&name) {
        return !crate::syntax::is_win32_function(&name);
    }
    parent_segment(path).is_some_and(|p| is_capitalized(&p) && !is_win32_module(&p))
}

enum Flow {
    /// `h` is still raw and no exit was found.
    Continue,
    /// `h` was passed on to an owner, released, stored or returned.
    Consumed,
    /// This exit leaves while `h` is raw.
    Leak(Span),
}

fn scan_stmts(stmts: &[Stmt], h: &str) -> Flow {
    for stmt in stmts {
        match scan_stmt(stmt, h) {
            Flow::Continue => {}
            other => return other,
        }
    }
    Flow::Continue
}

fn scan_stmt(stmt: &Stmt, h: &str) -> Flow {
    match stmt {
        Stmt::Local(local) => match &local.init {
            Some(init) => {
                if consumes(&init.expr, h) {
                    return Flow::Consumed;
                }
                let flow = scan_expr(&init.expr, h);
                if !matches!(flow, Flow::Continue) {
                    return flow;
                }
                match &init.diverge {
                    Some((_, els)) => scan_expr(els, h),
                    None => Flow::Continue,
                }
            }
            None => Flow::Continue,
        },
        Stmt::Expr(e, _) => scan_expr(e, h),
        Stmt::Macro(m) => match Exits::of(stmt).first() {
            Some(span) if !mentions(&m.mac, h) => Flow::Leak(*span),
            _ => Flow::Continue,
        },
        Stmt::Item(_) => Flow::Continue,
    }
}

fn scan_block(block: &syn::Block, h: &str) -> Flow {
    scan_stmts(&block.stmts, h)
}

/// Joins the flows of alternative branches: a leak in any wins; consumed only if all consume.
fn join(flows: impl IntoIterator<Item = Flow>) -> Flow {
    let mut all_consumed = true;
    let mut any = false;
    for flow in flows {
        any = true;
        match flow {
            Flow::Leak(span) => return Flow::Leak(span),
            Flow::Continue => all_consumed = false,
            Flow::Consumed => {}
        }
    }
    if any && all_consumed {
        Flow::Consumed
    } else {
        Flow::Continue
    }
}

fn first_exit(e: &Expr) -> Flow {
    Exits::of(e)
        .first()
        .map_or(Flow::Continue, |span| Flow::Leak(*span))
}

fn scan_expr(e: &Expr, h: &str) -> Flow {
    let e = peel(e);
    match e {
        Expr::If(expr_if) => {
            if mentions(&*expr_if.cond, h) {
                // The check of `h` itself. `if fd >= 0 { return Ok(fd) }` hands `h` out on
                // success, so what follows is the failure path, where `h` is not valid.
                if matches!(scan_block(&expr_if.then_branch, h), Flow::Consumed) {
                    return Flow::Consumed;
                }
                // `if h == INVALID { return Err(..) }`: not a leak path.
                return Flow::Continue;
            }
            if let Flow::Leak(span) = first_exit(&expr_if.cond) {
                return Flow::Leak(span);
            }
            let then = scan_block(&expr_if.then_branch, h);
            let els = expr_if
                .else_branch
                .as_ref()
                .map_or(Flow::Continue, |(_, e)| scan_expr(e, h));
            join([then, els])
        }
        Expr::Match(m) => {
            if mentions(&*m.expr, h) {
                return Flow::Continue;
            }
            if let Flow::Leak(span) = first_exit(&m.expr) {
                return Flow::Leak(span);
            }
            join(m.arms.iter().map(|arm| scan_expr(&arm.body, h)))
        }
        Expr::Block(b) => scan_block(&b.block, h),
        Expr::Unsafe(u) => scan_block(&u.block, h),
        Expr::Loop(l) => leak_only(scan_block(&l.body, h)),
        Expr::While(w) => leak_only(scan_block(&w.body, h)),
        Expr::ForLoop(f) => leak_only(scan_block(&f.body, h)),
        Expr::Return(r) => match &r.expr {
            Some(value) if mentions(&**value, h) => Flow::Consumed,
            _ => Flow::Leak(r.return_token.span),
        },
        _ => {
            if consumes(e, h) {
                Flow::Consumed
            } else {
                first_exit(e)
            }
        }
    }
}

/// A loop body may not run: consuming there does not consume for the code after the loop.
fn leak_only(flow: Flow) -> Flow {
    match flow {
        Flow::Leak(span) => Flow::Leak(span),
        _ => Flow::Continue,
    }
}

/// Whether evaluating `e` hands `h` to something that owns or releases it.
fn consumes(e: &Expr, h: &str) -> bool {
    let mut finder = ConsumeFinder { h, found: false };
    finder.visit_expr(e);
    finder.found
}

struct ConsumeFinder<'h> {
    h: &'h str,
    found: bool,
}

impl ConsumeFinder<'_> {
    fn is_h(&self, e: &Expr) -> bool {
        match peel(e) {
            Expr::Path(p) => p.path.is_ident(self.h),
            Expr::Cast(c) => self.is_h(&c.expr),
            Expr::MethodCall(m) => {
                matches!(
                    m.method.to_string().as_str(),
                    "cast" | "into" | "try_into" | "as_raw"
                ) && self.is_h(&m.receiver)
            }
            _ => false,
        }
    }
}

impl<'a> Visit<'a> for ConsumeFinder<'_> {
    fn visit_expr_call(&mut self, node: &'a syn::ExprCall) {
        if let Expr::Path(p) = &*node.func {
            if is_owner_call(&p.path)
                && node
                    .args
                    .iter()
                    .any(|a| self.is_h(a) || mentions(a, self.h))
            {
                self.found = true;
            }
        }
        syn::visit::visit_expr_call(self, node);
    }
    fn visit_expr_method_call(&mut self, node: &'a syn::ExprMethodCall) {
        // `vec.push(h)`, `map.insert(k, h)`, `slot.set(h)`: stored somewhere that outlives us.
        if node.args.iter().any(|a| self.is_h(a)) {
            self.found = true;
        }
        syn::visit::visit_expr_method_call(self, node);
    }
    fn visit_expr_struct(&mut self, node: &'a syn::ExprStruct) {
        if node.fields.iter().any(|f| mentions(&f.expr, self.h)) {
            self.found = true;
        }
        syn::visit::visit_expr_struct(self, node);
    }
    fn visit_expr_assign(&mut self, node: &'a syn::ExprAssign) {
        if self.is_h(&node.right) && !matches!(&*node.left, Expr::Path(_)) {
            self.found = true;
        }
        syn::visit::visit_expr_assign(self, node);
    }
    fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
}
