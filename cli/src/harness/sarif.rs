//! SARIF 2.1.0 for `loadguard faults --sweep --sarif`: one result per crash, hang (at the
//! failing call) and leak (at the leaked resource's acquiring frame).

use serde_json::{Value, json};

pub struct Finding {
    pub outcome: &'static str,
    /// The run's JSON (as `--json` prints it).
    pub run: Value,
    /// `file:line` of the injected call, when debug info had it.
    pub injection_site: Option<(String, u32)>,
}

fn location(file: &str, line: u32) -> Value {
    json!({"physicalLocation": {"artifactLocation": {"uri": file}, "region": {"startLine": line}}})
}

fn split_site(site: &str) -> Option<(String, u32)> {
    let (file, line) = site.rsplit_once(':')?;
    Some((file.to_owned(), line.parse().ok()?))
}

pub fn log(command: &[String], findings: &[Finding]) -> Value {
    let mut results = Vec::new();
    for f in findings {
        let r = &f.run;
        let what = format!(
            "`{}` {} when {} call #{} failed with {}",
            command.join(" "),
            f.outcome,
            r["op"].as_str().unwrap_or(""),
            r["nth"],
            r["fault"].as_str().unwrap_or("")
        );
        if f.outcome == "leaked" {
            for l in r["leaked"].as_array().into_iter().flatten() {
                let message = format!(
                    "{what}: {} {} ({}x via {}) was still held at exit",
                    l["kind"].as_str().unwrap_or(""),
                    l["what"].as_str().unwrap_or(""),
                    l["count"],
                    l["via"].as_str().unwrap_or("")
                );
                let locations: Vec<Value> = l["site"]
                    .as_str()
                    .and_then(split_site)
                    .map(|(file, line)| location(&file, line))
                    .into_iter()
                    .collect();
                results.push(json!({"ruleId": "leaked", "level": "error", "message": {"text": message}, "locations": locations}));
            }
        } else {
            let locations: Vec<Value> = f
                .injection_site
                .iter()
                .map(|(file, line)| location(file, *line))
                .collect();
            let signal = r["signal"]
                .as_i64()
                .map(|s| format!(" (signal {s})"))
                .unwrap_or_default();
            results.push(json!({"ruleId": f.outcome, "level": "error", "message": {"text": format!("{what}{signal}")}, "locations": locations}));
        }
    }
    let rule = |id: &str, text: &str| json!({"id": id, "shortDescription": {"text": text}});
    json!({
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [{
            "tool": {"driver": {
                "name": "loadguard faults",
                "informationUri": "https://example.invalid/loadguard",
                "rules": [
                    rule("crashed", "the program was killed by a signal when an OS call failed"),
                    rule("leaked", "a resource was still held at exit after an OS call failed"),
                    rule("hung", "the program did not finish after an OS call failed"),
                ],
            }},
            "results": results,
        }],
    })
}
