//! In-source suppressions: `// loadguard: allow(rule_id, other_id) reason`.
//!
//! A suppression applies to its own line (a trailing comment), to the next line of code (a
//! comment on the line above), and, when that next line starts an item, statement, field or
//! impl item (a C/C++ function, class or statement), to the whole of it — so a comment above a `fn` or `impl` silences the rule in all
//! of its body. Attributes and further comments between the comment and the code are skipped.

use crate::source::LineIndex;

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
    /// Resolves directives against the byte extents of the file's items and statements
    /// ([`crate::ir::Unit::extents`]).
    #[must_use]
    pub fn new(
        index: &LineIndex<'_>,
        directives: &[Directive],
        extents: &[(u32, u32)],
    ) -> Suppressions {
        if directives.is_empty() {
            return Suppressions::default();
        }
        let lines: Vec<(usize, usize)> = extents
            .iter()
            .map(|&(s, e)| (index.line_col(s as usize).0, index.line_col(e as usize).0))
            .collect();
        let total = index.lines();
        let mut ranges = Vec::new();
        for d in directives {
            let mut last = d.line;
            let own = index.line(d.line);
            let own_line_code =
                !own.trim_start().starts_with("//") && !own.trim_start().starts_with("/*");
            // The next line of code after the comment (skipping comments, attributes, blanks).
            let next = (d.line + 1..=total).find(|&n| {
                let l = index.line(n).trim_start();
                !(l.is_empty() || l.starts_with("//") || l.starts_with("#[") || l.starts_with("[["))
            });
            if own_line_code {
                for &(start, end) in &lines {
                    if start == d.line {
                        last = last.max(end);
                    }
                }
            } else if let Some(next) = next {
                last = next;
                // Nodes starting on the comment's next lines (their attributes included).
                for &(start, end) in &lines {
                    if start > d.line && start <= next {
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
