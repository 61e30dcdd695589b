//! SARIF 2.1.0 as GitHub code scanning accepts it: one run, the tool's rules (with help text)
//! in `tool.driver.rules`, and one result per finding with a physical location. Paths are
//! relative URIs with `/` separators; columns count Unicode code points (`columnKind`).

use serde_json::{Value, json};

use super::explanation;
use crate::finding::{Finding, Severity};
use crate::rules::{INTERNAL_ERROR, PARSE_ERROR, RULES};

/// The SARIF schema this output follows.
pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

/// Every rule id the tool can report, in `ruleIndex` order.
fn rule_ids() -> Vec<&'static str> {
    RULES
        .iter()
        .map(|r| r.id)
        .chain([PARSE_ERROR, INTERNAL_ERROR])
        .collect()
}

fn descriptor(id: &str) -> Value {
    let (why, fix) = explanation(id);
    let (summary, default) = match crate::rules::by_id(id) {
        Some(rule) => (rule.summary, rule.default_severity),
        None if id == PARSE_ERROR => (
            "the file does not parse and was not analyzed",
            Severity::Error,
        ),
        None => ("the analyzer failed on this file", Severity::Error),
    };
    let (mut text, mut markdown) = (
        format!("{why}\n\nFix: {fix}"),
        format!("{why}\n\n**Fix:** {fix}"),
    );
    for ex in crate::rules::by_id(id).map_or(&[][..], |r| r.examples) {
        let lang = if ex.lang == "rust" { "rust" } else { "cpp" };
        text.push_str(&format!(
            "\n\nFlagged ({lang}):\n{}\n\nInstead:\n{}",
            ex.flagged, ex.fixed
        ));
        markdown.push_str(&format!(
            "\n\nFlagged:\n```{lang}\n{}\n```\nInstead:\n```{lang}\n{}\n```",
            ex.flagged, ex.fixed
        ));
    }
    json!({
        "id": id,
        "name": pascal_case(id),
        "shortDescription": { "text": summary },
        "fullDescription": { "text": why },
        "help": { "text": text, "markdown": markdown },
        "defaultConfiguration": { "level": level(default) },
    })
}

/// A rule's SARIF `name`: its id in PascalCase (`unowned_handle` → `UnownedHandle`), which
/// SARIF validators expect to differ from the id.
fn pascal_case(id: &str) -> String {
    id.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

/// The URI of a path: relative paths stay relative references (code scanning resolves them
/// against the repository root), absolute ones become `file://` URIs; what a URI cannot hold
/// as-is is percent-encoded.
fn uri(path: &str) -> String {
    let path = path.strip_prefix("./").unwrap_or(path);
    let drive =
        path.len() >= 2 && path.as_bytes()[1] == b':' && path.as_bytes()[0].is_ascii_alphabetic();
    let mut out = if path.starts_with('/') {
        "file://".to_owned()
    } else if drive {
        "file:///".to_owned()
    } else {
        String::new()
    };
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) || (drive && b == b':') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Renders the SARIF log.
#[must_use]
pub fn render(findings: &[Finding]) -> String {
    let ids = rule_ids();
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            let index = ids.iter().position(|id| *id == f.rule).unwrap_or(0);
            json!({
                "ruleId": f.rule,
                "ruleIndex": index,
                "level": level(f.severity),
                "message": { "text": f.message },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri(&f.file) },
                        "region": {
                            "startLine": f.line,
                            "startColumn": f.column,
                            "endLine": f.end_line,
                            "endColumn": f.end_column.max(f.column),
                        }
                    }
                }],
            })
        })
        .collect();
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "loadguard-lint",
                    "informationUri": env!("CARGO_PKG_REPOSITORY"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "rules": ids.iter().map(|id| descriptor(id)).collect::<Vec<_>>(),
                }
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    });
    let mut text = serde_json::to_string_pretty(&log).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::uri;

    #[test]
    fn uris() {
        assert_eq!(uri("./loader/src/os/unix.rs"), "loader/src/os/unix.rs");
        assert_eq!(uri("/root/src/a b.rs"), "file:///root/src/a%20b.rs");
        assert_eq!(uri("C:/work/x.rs"), "file:///C:/work/x.rs");
        assert_eq!(uri("src/é.rs"), "src/%C3%A9.rs");
        assert_eq!(super::pascal_case("unowned_handle"), "UnownedHandle");
    }
}
