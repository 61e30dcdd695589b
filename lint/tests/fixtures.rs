//! Every fixture under `tests/fixtures/<rule_id>/` is analyzed with all rules, and the
//! findings must be exactly the `//~ rule_id` markers of the file: the rule and the line.
//! Negative fixtures have no markers, so any finding in them fails. Every rule has a Rust
//! pair (`.rs`) and a C++ pair (`.cpp`).

use std::collections::BTreeSet;
use std::path::Path;

use loadguard_lint::rules::RULES;
use loadguard_lint::{Config, analyze_source};

/// (line, rule) pairs marked with `//~ rule` in a fixture.
fn expected(text: &str) -> BTreeSet<(usize, String)> {
    let mut out = BTreeSet::new();
    for (i, line) in text.lines().enumerate() {
        if let Some(at) = line.find("//~") {
            for rule in line[at + 3..].split_whitespace() {
                out.insert((i + 1, rule.to_owned()));
            }
        }
    }
    out
}

fn check(rule: &str, kind: &str) {
    check_file(rule, kind, "rs");
}

fn check_file(rule: &str, kind: &str, ext: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rule)
        .join(format!("{kind}.{ext}"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let want = expected(&text);
    if kind == "positive" {
        assert!(
            want.iter().any(|(_, r)| r == rule),
            "{rule}: the positive fixture marks no finding of its rule"
        );
    } else {
        assert!(want.is_empty(), "{rule}: a negative fixture has markers");
    }
    let got: BTreeSet<(usize, String)> =
        analyze_source(&format!("{rule}/{kind}.{ext}"), &text, &Config::default())
            .into_iter()
            .map(|f| (f.line, f.rule.to_owned()))
            .collect();
    let missing: Vec<_> = want.difference(&got).collect();
    let unexpected: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && unexpected.is_empty(),
        "{rule}/{kind}.{ext}: missing {missing:?}, unexpected {unexpected:?}"
    );
}

macro_rules! fixtures {
    ($($rule:ident),* $(,)?) => {
        $(
            mod $rule {
                #[test]
                fn positive() {
                    super::check(stringify!($rule), "positive");
                }
                #[test]
                fn negative() {
                    super::check(stringify!($rule), "negative");
                }
                #[test]
                fn cpp_positive() {
                    super::check_file(stringify!($rule), "positive", "cpp");
                }
                #[test]
                fn cpp_negative() {
                    super::check_file(stringify!($rule), "negative", "cpp");
                }
            }
        )*

        #[test]
        fn every_rule_has_fixtures() {
            let listed = [$(stringify!($rule)),*];
            for rule in RULES {
                assert!(listed.contains(&rule.id), "no fixtures for {}", rule.id);
            }
            assert_eq!(listed.len(), RULES.len());
        }
    };
}

fixtures!(
    unowned_handle,
    map_linear_scan,
    unchecked_size_cast,
    lock_in_drop,
    uninit_status,
    clobbered_os_error,
    os_error_dropped,
    duplicate_symbol,
    double_lifecycle,
    static_resource,
    wrong_failure_sentinel,
);
