//! In-source suppressions: `// loadguard: allow(rule_id, other_id) reason`.
//!
//! A suppression applies to its own line (a trailing comment), to the next line of code (a
//! comment on the line above), and, when that next line starts an item, statement, field or
//! impl item, to the whole of it — so a comment above a `fn` or `impl` silences the rule in all
//! of its body. Attributes and further comments between the comment and the code are skipped.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::visit::Visit;

/// One `loadguard: allow(..)` comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directive {
    /// The 1-based line of the comment.
    pub line: usize,
    /// The rule ids it names.
    pub rules: Vec<String>,
    /// The text after the closing parenthesis.
    pub reason: String,
}

/// Finds the suppression comments of a file.
#[must_use]
pub fn directives(text: &str) -> Vec<Directive> {
    let mut out = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let Some(comment) = line.find("//").map(|i| &line[i + 2..]) else {
            continue;
        };
        let comment = comment.trim_start_matches(['/', '!']).trim_start();
        let Some(rest) = comment.strip_prefix("loadguard:") else {
            continue;
        };
        let Some(rest) = rest.trim_start().strip_prefix("allow(") else {
            continue;
        };
        let Some(close) = rest.find(')') else {
            continue;
        };
        let rules = rest[..close]
            .split(',')
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty())
            .collect();
        out.push(Directive {
            line: index + 1,
            rules,
            reason: rest[close + 1..].trim().to_owned(),
        });
    }
    out
}

/// The line ranges each rule is suppressed on.
#[derive(Debug, Default)]
pub struct Suppressions {
    ranges: Vec<(String, usize, usize)>,
}

impl Suppressions {
    /// Resolves directives against the file's syntax tree (for item and statement extents).
    #[must_use]
    pub fn new(text: &str, directives: &[Directive], file: Option<&syn::File>) -> Suppressions {
        let mut nodes = Nodes::default();
        if let (Some(file), false) = (file, directives.is_empty()) {
            nodes.visit_file(file);
        }
        let lines: Vec<&str> = text.lines().collect();
        let mut ranges = Vec::new();
        for d in directives {
            let mut last = d.line;
            // The next line of code after the comment (skipping comments, attributes, blanks).
            let next = (d.line..lines.len()).map(|i| i + 1).find(|&n| {
                let l = lines[n - 1].trim_start();
                !(l.is_empty() || l.starts_with("//") || l.starts_with("#["))
            });
            let own_line_code = lines
                .get(d.line - 1)
                .is_some_and(|l| !l.trim_start().starts_with("//"));
            if let Some(next) = next.filter(|_| !own_line_code) {
                last = next;
                // Nodes starting on the comment's next lines (their attributes included).
                for &(start, end) in &nodes.extents {
                    if start > d.line && start <= next {
                        last = last.max(end);
                    }
                }
            } else if own_line_code {
                for &(start, end) in &nodes.extents {
                    if start == d.line {
                        last = last.max(end);
                    }
                }
            }
            for rule in &d.rules {
                ranges.push((rule.clone(), d.line, last));
            }
        }
        Suppressions { ranges }
    }

    /// Whether `rule` is suppressed at `line`.
    #[must_use]
    pub fn covers(&self, rule: &str, line: usize) -> bool {
        self.ranges
            .iter()
            .any(|(r, first, last)| r == rule && (*first..=*last).contains(&line))
    }
}

/// Line extents of the nodes a suppression can apply to.
#[derive(Default)]
struct Nodes {
    extents: Vec<(usize, usize)>,
}

impl Nodes {
    fn add(&mut self, span: Span) {
        self.extents.push((span.start().line, span.end().line));
    }
}

impl<'a> Visit<'a> for Nodes {
    fn visit_item(&mut self, node: &'a syn::Item) {
        self.add(node.span());
        syn::visit::visit_item(self, node);
    }
    fn visit_impl_item(&mut self, node: &'a syn::ImplItem) {
        self.add(node.span());
        syn::visit::visit_impl_item(self, node);
    }
    fn visit_trait_item(&mut self, node: &'a syn::TraitItem) {
        self.add(node.span());
        syn::visit::visit_trait_item(self, node);
    }
    fn visit_stmt(&mut self, node: &'a syn::Stmt) {
        self.add(node.span());
        syn::visit::visit_stmt(self, node);
    }
    fn visit_field(&mut self, node: &'a syn::Field) {
        self.add(node.span());
        syn::visit::visit_field(self, node);
    }
    fn visit_arm(&mut self, node: &'a syn::Arm) {
        self.add(node.span());
        syn::visit::visit_arm(self, node);
    }
}
