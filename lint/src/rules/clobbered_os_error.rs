//! `clobbered_os_error`: the thread's OS error read after another call may have replaced it.
//!
//! `errno` / `GetLastError()` describe the *last* failing call of the thread. Between the
//! failing call and the read (`io::Error::last_os_error()`, `GetLastError()`, `errno()`), any
//! other FFI call, `close` / `CloseHandle`, `drop` of an owner, or printing / logging macro may
//! overwrite it. The failing call is found from the branch the read is in: the condition of the
//! `if` / `match`, and the statement that bound the variables it tests.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::visit::Visit;
use syn::{Expr, Stmt};

use crate::context::FileContext;
use crate::finding::Severity;
use crate::rules::{Hit, Rule};
use crate::syntax::{is_print_or_log_macro, last_segment, macro_name, mentions, peel};

/// The rule.
pub const RULE: Rule = Rule {
    id: "clobbered_os_error",
    summary: "the OS error is read after another call that may have overwritten it",
    why: "`errno` and `GetLastError()` are per-thread and overwritten by the next call that fails \
          (or, on Windows, often by one that succeeds): cleanup or logging between the failing call \
          and the read reports the wrong error, or none",
    fix: "capture the error first (`let err = io::Error::last_os_error();`), then clean up and \
          log, then return `err`",
    default_severity: Severity::Error,
    check,
};

/// Calls that read the thread's last OS error.
const READS: &[&str] = &[
    "last_os_error",
    "GetLastError",
    "errno",
    "__errno_location",
    "__error",
    "WSAGetLastError",
];

/// Safe-looking calls that still clobber the OS error (they close or free something).
const RELEASES: &[&str] = &[
    "close",
    "CloseHandle",
    "munmap",
    "UnmapViewOfFile",
    "dlclose",
    "FreeLibrary",
    "fclose",
    "free",
    "drop",
    "unlink",
    "remove_file",
    "closedir",
    "VirtualFree",
    "CoTaskMemFree",
    "LocalFree",
];

/// Calls that do not touch the OS even inside `unsafe`.
const PURE: &[&str] = &[
    "null",
    "null_mut",
    "size_of",
    "align_of",
    "from_raw_parts",
    "from_raw_parts_mut",
    "slice_from_raw_parts",
    "addr_of",
    "addr_of_mut",
    "new",
    "from",
    "default",
    "with_capacity",
    "zeroed",
    "uninit",
    "transmute",
    "read_unaligned",
    "write_unaligned",
    "copy_nonoverlapping",
];

fn check(ctx: &FileContext<'_>) -> Vec<Hit> {
    let mut hits = Vec::new();
    for function in &ctx.functions {
        walk_stmts(
            &function.block.stmts,
            None,
            function.sig.unsafety.is_some(),
            &mut hits,
        );
    }
    hits
}

/// The branch a statement list is in: the parent's statements, the branch's index there, and
/// the condition that selected it.
#[derive(Clone, Copy)]
struct Branch<'a> {
    parent: &'a [Stmt],
    index: usize,
    cond: &'a Expr,
}

fn walk_stmts(stmts: &[Stmt], branch: Option<Branch<'_>>, in_unsafe: bool, hits: &mut Vec<Hit>) {
    for (k, stmt) in stmts.iter().enumerate() {
        let expr = match stmt {
            Stmt::Expr(e, _) => Some(e),
            Stmt::Local(l) => l.init.as_ref().map(|i| &*i.expr),
            _ => None,
        };
        if let Some(e) = expr {
            if walk_branches(e, stmts, k, in_unsafe, hits) {
                continue;
            }
        }
        if let Some(read) = read_span(stmt.to_token_stream()) {
            evaluate(read, &stmts[..k], branch, in_unsafe, hits);
        }
    }
}

/// Descends into the branches of an `if` / `match` (and plain nested blocks). Returns whether
/// `e` was such an expression, so its reads were handled inside.
fn walk_branches(e: &Expr, stmts: &[Stmt], k: usize, in_unsafe: bool, hits: &mut Vec<Hit>) -> bool {
    match e {
        Expr::If(i) => {
            let branch = Branch {
                parent: stmts,
                index: k,
                cond: &i.cond,
            };
            walk_stmts(&i.then_branch.stmts, Some(branch), in_unsafe, hits);
            let mut els = i.else_branch.as_ref().map(|(_, e)| &**e);
            while let Some(e) = els {
                match e {
                    Expr::If(inner) => {
                        let branch = Branch {
                            parent: stmts,
                            index: k,
                            cond: &inner.cond,
                        };
                        walk_stmts(&inner.then_branch.stmts, Some(branch), in_unsafe, hits);
                        els = inner.else_branch.as_ref().map(|(_, e)| &**e);
                    }
                    Expr::Block(b) => {
                        walk_stmts(&b.block.stmts, Some(branch), in_unsafe, hits);
                        els = None;
                    }
                    _ => els = None,
                }
            }
            true
        }
        Expr::Match(m) => {
            let branch = Branch {
                parent: stmts,
                index: k,
                cond: &m.expr,
            };
            for arm in &m.arms {
                match &*arm.body {
                    Expr::Block(b) => walk_stmts(&b.block.stmts, Some(branch), in_unsafe, hits),
                    body => {
                        if let Some(read) = read_span(body.to_token_stream()) {
                            evaluate(read, &[], Some(branch), in_unsafe, hits);
                        }
                    }
                }
            }
            true
        }
        Expr::Block(b) => {
            walk_stmts(&b.block.stmts, None, in_unsafe, hits);
            true
        }
        Expr::Unsafe(u) => {
            walk_stmts(&u.block.stmts, None, true, hits);
            true
        }
        Expr::Loop(l) => {
            walk_stmts(&l.body.stmts, None, in_unsafe, hits);
            true
        }
        Expr::While(w) => {
            walk_stmts(&w.body.stmts, None, in_unsafe, hits);
            true
        }
        Expr::ForLoop(f) => {
            walk_stmts(&f.body.stmts, None, in_unsafe, hits);
            true
        }
        _ => false,
    }
}

/// The span of the first OS-error read in `tokens` (macro bodies included).
fn read_span(tokens: TokenStream) -> Option<Span> {
    let mut tokens = tokens.into_iter().peekable();
    while let Some(tt) = tokens.next() {
        match tt {
            // A call (`errno()`), not a variable that happens to be named `errno`.
            TokenTree::Ident(i)
                if READS.iter().any(|r| i == r)
                    && matches!(tokens.peek(), Some(TokenTree::Group(g)) if g.delimiter() == proc_macro2::Delimiter::Parenthesis) =>
            {
                return Some(i.span());
            }
            TokenTree::Group(g) => {
                if let Some(span) = read_span(g.stream()) {
                    return Some(span);
                }
            }
            _ => {}
        }
    }
    None
}

fn evaluate(
    read: Span,
    before: &[Stmt],
    branch: Option<Branch<'_>>,
    in_unsafe: bool,
    hits: &mut Vec<Hit>,
) {
    // Branches that were not taken on the way here (`if ok { return .. }`) are skipped.
    let straight: Vec<Stmt> = before
        .iter()
        .filter(|s| !is_branching(s))
        .cloned()
        .collect();
    // The failing call is the last FFI call before the read that is not a release, if there
    // is one in this block; after it, releases and printing clobber.
    let failing = straight.iter().rposition(|s| has_call(s, in_unsafe, false));
    let clobber = match (failing, branch) {
        (Some(start), _) => first_clobber(&straight[start + 1..], in_unsafe, false),
        // Otherwise, in a branch, the failing call is in (or before) the branch condition.
        (None, Some(branch)) => first_clobber(before, in_unsafe, true).or_else(|| {
            // `if ffi(..) == 0 { .. }`: the failing call is the condition itself.
            if has_call_expr(branch.cond, in_unsafe) {
                return None;
            }
            let start = failing_statement(branch)?;
            first_clobber(&branch.parent[start + 1..branch.index], in_unsafe, true)
        }),
        (None, None) => None,
    };
    if let Some((name, span)) = clobber {
        let line = span.start().line;
        hits.push(Hit::at(
            read,
            format!("the OS error is read here after `{name}` (line {line}), which may have overwritten it"),
        ));
    }
}

/// The statement of the parent block that produced what the branch condition tests.
fn failing_statement(branch: Branch<'_>) -> Option<usize> {
    let mut tested = Vec::new();
    collect_idents(branch.cond.to_token_stream(), &mut tested);
    branch.parent[..branch.index].iter().rposition(|s| match s {
        Stmt::Local(l) => tested.iter().any(|t| mentions(&l.pat, t)),
        Stmt::Expr(Expr::Assign(a), _) => tested.iter().any(|t| mentions(&*a.left, t)),
        _ => false,
    })
}

fn collect_idents(tokens: TokenStream, out: &mut Vec<String>) {
    for tt in tokens {
        match tt {
            TokenTree::Ident(i) => out.push(i.to_string()),
            TokenTree::Group(g) => collect_idents(g.stream(), out),
            _ => {}
        }
    }
}

fn is_branching(stmt: &Stmt) -> bool {
    matches!(stmt, Stmt::Expr(Expr::If(_) | Expr::Match(_), _))
}

fn has_call_expr(e: &Expr, in_unsafe: bool) -> bool {
    let mut finder = Clobbers {
        in_unsafe,
        any_ffi: true,
        releases_too: true,
        found: None,
    };
    finder.visit_expr(e);
    finder.found.is_some()
}

fn has_call(stmt: &Stmt, in_unsafe: bool, releases_too: bool) -> bool {
    let mut finder = Clobbers {
        in_unsafe,
        any_ffi: true,
        releases_too,
        found: None,
    };
    finder.visit_stmt(stmt);
    finder.found.is_some()
}

/// The first call in `stmts` that may overwrite the OS error: with `any_ffi`, any call in
/// `unsafe`; always, releases and printing / logging macros.
fn first_clobber(stmts: &[Stmt], in_unsafe: bool, any_ffi: bool) -> Option<(String, Span)> {
    stmts.iter().find_map(|s| {
        let mut finder = Clobbers {
            in_unsafe,
            any_ffi,
            releases_too: true,
            found: None,
        };
        finder.visit_stmt(s);
        finder.found
    })
}

struct Clobbers {
    in_unsafe: bool,
    any_ffi: bool,
    releases_too: bool,
    found: Option<(String, Span)>,
}

impl<'a> Visit<'a> for Clobbers {
    fn visit_expr_unsafe(&mut self, node: &'a syn::ExprUnsafe) {
        let saved = self.in_unsafe;
        self.in_unsafe = true;
        syn::visit::visit_expr_unsafe(self, node);
        self.in_unsafe = saved;
    }
    fn visit_expr_call(&mut self, node: &'a syn::ExprCall) {
        if self.found.is_none() {
            if let Expr::Path(f) = peel(&node.func) {
                let name = last_segment(&f.path).unwrap_or_default();
                // `ptr::read`, `mem::take`: memory operations, not OS calls.
                let memory_op = f
                    .path
                    .segments
                    .iter()
                    .any(|s| s.ident == "ptr" || s.ident == "mem");
                let release = RELEASES.contains(&name.as_str());
                let is_read = READS.contains(&name.as_str());
                let ffi = self.in_unsafe
                    && !memory_op
                    && !is_read
                    && !PURE.contains(&name.as_str())
                    && (!crate::syntax::is_capitalized(&name)
                        || crate::syntax::is_win32_function(&name));
                if (self.releases_too && release) || (!release && self.any_ffi && ffi) {
                    self.found = Some((
                        name,
                        f.path
                            .segments
                            .last()
                            .map_or_else(Span::call_site, |s| s.ident.span()),
                    ));
                }
            }
        }
        syn::visit::visit_expr_call(self, node);
    }
    fn visit_macro(&mut self, mac: &'a syn::Macro) {
        if self.found.is_none() && self.releases_too && is_print_or_log_macro(&macro_name(mac)) {
            self.found = Some((
                format!("{}!", macro_name(mac)),
                mac.path
                    .segments
                    .last()
                    .map_or_else(Span::call_site, |s| s.ident.span()),
            ));
        }
    }
    fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
    fn visit_item(&mut self, _: &'a syn::Item) {}
}
