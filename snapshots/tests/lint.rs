//! What a user of `loadguard lint` reads, for the positive fixture of every rule: the
//! rustc-style text, the JSON lines and the SARIF results; plus one whole SARIF log and a parse
//! error. The fixtures are the ones `loadguard-lint`'s own tests check line by line.

use std::path::PathBuf;

use loadguard_lint::report::{Format, Totals, render};
use loadguard_lint::rules::RULES;
use loadguard_lint::{Config, Finding, analyze_source};

fn fixture(rule: &str) -> (String, String) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../lint/tests/fixtures")
        .join(rule)
        .join("positive.rs");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (format!("fixtures/{rule}/positive.rs"), text)
}

fn findings(rule: &str) -> Vec<Finding> {
    let (label, text) = fixture(rule);
    analyze_source(&label, &text, &Config::default())
}

#[test]
fn every_rule_in_three_formats() {
    for rule in RULES {
        let findings = findings(rule.id);
        assert!(
            findings.iter().any(|f| f.rule == rule.id),
            "{}: no finding in its positive fixture",
            rule.id
        );
        insta::assert_snapshot!(
            format!("{}_human", rule.id),
            render(Format::Human, &findings, Totals { files: 1 })
        );
        insta::assert_snapshot!(
            format!("{}_json", rule.id),
            render(Format::Json, &findings, Totals { files: 1 })
        );
        let sarif: serde_json::Value =
            serde_json::from_str(&render(Format::Sarif, &findings, Totals { files: 1 })).unwrap();
        insta::assert_json_snapshot!(
            format!("{}_sarif_results", rule.id),
            sarif["runs"][0]["results"]
        );
    }
}

#[test]
fn whole_sarif_log() {
    let mut all: Vec<Finding> = RULES.iter().take(2).flat_map(|r| findings(r.id)).collect();
    all.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    let mut sarif: serde_json::Value =
        serde_json::from_str(&render(Format::Sarif, &all, Totals { files: 2 })).unwrap();
    // The crate version changes with releases, not with the output's shape.
    sarif["runs"][0]["tool"]["driver"]["semanticVersion"] = "[version]".into();
    insta::assert_json_snapshot!("sarif_log", sarif);
}

#[test]
fn parse_error_and_clean_run() {
    let bad = analyze_source(
        "src/broken.rs",
        "fn load(path: &Path) -> Result<(), Error> {\n    let fd = open(path;\n}\n",
        &Config::default(),
    );
    insta::assert_snapshot!(
        "parse_error_human",
        render(Format::Human, &bad, Totals { files: 1 })
    );
    insta::assert_snapshot!(
        "clean_human",
        render(Format::Human, &[], Totals { files: 3 })
    );
}
