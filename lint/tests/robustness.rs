//! The analyzer never panics: mangled versions of every fixture (truncated, spliced, with
//! punctuation sprayed in) and pathological nesting all give findings or a parse error.
//! A deterministic stand-in for the `lint_source` fuzz target that runs on stable in every
//! `cargo test`.

use std::path::Path;

use loadguard_lint::report::{Format, Totals, render};
use loadguard_lint::{Config, analyze_source};

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n.max(1)).unwrap()).unwrap()
    }
}

fn fixtures() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out = Vec::new();
    for rule in std::fs::read_dir(root).unwrap() {
        let rule = rule.unwrap().path();
        if rule.is_dir() {
            for kind in ["positive.rs", "negative.rs"] {
                out.push(std::fs::read_to_string(rule.join(kind)).unwrap());
            }
        }
    }
    assert!(out.len() >= 22, "{} fixtures", out.len());
    out
}

fn mangle(text: &str, rng: &mut Rng) -> String {
    let chars: Vec<char> = text.chars().collect();
    let a = rng.below(chars.len());
    let b = (a + rng.below(200)).min(chars.len());
    let mut out: Vec<char> = match rng.below(4) {
        0 => chars[..a].to_vec(),
        1 => chars[..a].iter().chain(&chars[b..]).copied().collect(),
        2 => chars[..b].iter().chain(&chars[a..]).copied().collect(),
        _ => chars.clone(),
    };
    for _ in 0..rng.below(6) {
        let at = rng.below(out.len() + 1);
        let junk = [
            '{', '}', '(', ')', '?', ';', '"', '\'', '#', '!', '<', '>', '|', '&', '*', 'é', '\0',
        ];
        out.insert(at.min(out.len()), junk[rng.below(junk.len())]);
    }
    out.into_iter().collect()
}

fn analyze_everything(text: &str) {
    let findings = analyze_source("m.rs", text, &Config::default());
    for f in &findings {
        assert!(
            f.line >= 1 && f.column >= 1 && f.end_line >= f.line,
            "{f:?}"
        );
    }
    for format in [Format::Human, Format::Json, Format::Sarif] {
        let _ = render(format, &findings, Totals { files: 1 });
    }
}

#[test]
fn mangled_fixtures_never_panic() {
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    for text in fixtures() {
        for _ in 0..60 {
            analyze_everything(&mangle(&text, &mut rng));
        }
    }
}

/// Nesting just under the limit must fit in a default 2 MiB thread stack (what a library
/// user's thread has), not only in the CLI's large worker stacks.
#[test]
fn nesting_at_the_limit_fits_a_default_stack() {
    let depth = loadguard_lint::source::MAX_NESTING - 2;
    let inputs = [
        format!(
            "fn f() {{ let x = {}1{}; }}",
            "(".repeat(depth),
            ")".repeat(depth)
        ),
        format!(
            "fn f() {{ let x = {}1{}; }}",
            "[".repeat(depth),
            "]".repeat(depth)
        ),
        format!(
            "fn f() {}{}",
            "{ if a ".repeat(depth / 2),
            "}".repeat(depth / 2 + 1)
        ),
        format!("fn f() {{ {} }}", "return ".repeat(200)),
        format!("fn f() {{ let g = {}x; }}", "|a| ".repeat(300)),
        format!("fn f() {{ let g = {}x; }}", "|a| ".repeat(600)),
        format!("fn f() {{ let g = {}x; }}", "|| ".repeat(2000)),
        format!("fn f() {{ let x = {}y; }}", "-".repeat(2000)),
        // Just under the run limits: analyzed, on the analysis thread's stack.
        format!("fn f() {{ let g = {}x; }}", "|| ".repeat(510)),
        format!("fn f() {{ let x = {}y; }}", "- ".repeat(1020)),
        format!("fn f() {{ let x = {}y; }}", "!-*&".repeat(150)),
        format!("type T = {}u8{};", "Vec<".repeat(depth), ">".repeat(depth)),
    ];
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            for input in &inputs {
                analyze_everything(input);
            }
        })
        .unwrap()
        .join()
        .unwrap();
}
