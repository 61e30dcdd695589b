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

/// Every fixture: (label with its extension, text).
fn fixtures() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out = Vec::new();
    for rule in std::fs::read_dir(root).unwrap() {
        let rule = rule.unwrap().path();
        if rule.is_dir() {
            for kind in ["positive.rs", "negative.rs", "positive.cpp", "negative.cpp"] {
                out.push((
                    kind.to_owned(),
                    std::fs::read_to_string(rule.join(kind)).unwrap(),
                ));
            }
        }
    }
    assert!(out.len() >= 44, "{} fixtures", out.len());
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
    analyze_as("m.rs", text);
}

fn analyze_as(label: &str, text: &str) {
    let findings = analyze_source(label, text, &Config::default());
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
    for (label, text) in fixtures() {
        for _ in 0..30 {
            analyze_as(&label, &mangle(&text, &mut rng));
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
        // Chains just under the depth limit: analyzed, on the analysis thread's stack.
        format!("fn f() {{ a = {}1; }}", "a = ".repeat(1550)),
        format!("fn f() {{ let x = {}1; }}", "1+".repeat(1550)),
        format!("fn f() {{ let x = a{}; }}", ".b".repeat(1550)),
        format!("fn f() {{ let x = a{}; }}", "?".repeat(1550)),
        format!("fn f() {{ let x = a{}; }}", ".b()".repeat(1550)),
        format!(
            "fn f() {{ let x = {}{}1{}; }}",
            "1+".repeat(700),
            "(".repeat(200),
            ")".repeat(200)
        ),
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

/// The inputs that overflowed the stack of the old analyzer (40–120 KB): chains the nesting
/// guard did not count, and a guard fooled by a `'"'` char literal or a `"` in a block comment.
/// Each must give findings or a `parse_error`, in Rust and in C++.
#[test]
fn chains_and_fooled_guards_never_overflow() {
    let n = 40_000;
    let deep = format!("{}1{}", "(".repeat(n / 2), ")".repeat(n / 2));
    let inputs = [
        format!("fn f() {{ a = {}1; }}", "a = ".repeat(n / 4)),
        format!("fn f() {{ let x = {}1; }}", "1+".repeat(n / 2)),
        format!("fn f() {{ let x = a{}; }}", ".b".repeat(n / 2)),
        format!("fn f() {{ let x = a{}; }}", "?".repeat(n)),
        format!("fn f() {{ let c = '\"'; let x = {deep}; }}"),
        format!("/* \" */ fn f() {{ let x = {deep}; }}"),
        format!("fn f() {{ let s = r#\"\"#; let x = {deep}; }}"),
        format!("fn f() {{ let x = {}y; }}", "!".repeat(n)),
        format!("fn f() {{ {} }}", "return ".repeat(n / 7)),
        format!("fn f() {{ let x = y{}; }}", " as u8".repeat(n / 6)),
    ];
    let cpp = [
        format!("int f() {{ a = {}1; }}", "a = ".repeat(n / 4)),
        format!("int f() {{ return {}1; }}", "1+".repeat(n / 2)),
        format!("int f() {{ return a{}; }}", ".b".repeat(n / 2)),
        format!("int f() {{ return a{}; }}", "->b".repeat(n / 3)),
        format!("int f() {{ char c = '\"'; return {deep}; }}"),
        format!("/* \" */ int f() {{ return {deep}; }}"),
        format!(
            "int f() {}{}",
            "{ if (a) ".repeat(n / 9),
            "}".repeat(n / 9 + 1)
        ),
        format!("int f() {{ return {}x; }}", "!".repeat(n)),
    ];
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            for input in &inputs {
                analyze_as("deep.rs", input);
            }
            for input in &cpp {
                analyze_as("deep.cpp", input);
            }
        })
        .unwrap()
        .join()
        .unwrap();
}

/// A pathological file in a directory does not stop the others from being analyzed.
#[test]
fn one_bad_file_never_stops_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let deep = format!("fn f() {{ a = {}1; }}", "a = ".repeat(30_000));
    std::fs::write(dir.path().join("a_deep.rs"), deep).unwrap();
    std::fs::write(
        dir.path().join("b_deep.cpp"),
        format!("int f() {{ return {}1; }}", "1+".repeat(60_000)),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("c_cast.rs"),
        "fn f(file: &File) -> usize {\n    file.metadata().unwrap().len() as usize\n}\n",
    )
    .unwrap();
    let run = loadguard_lint::walk::lint_paths(&[dir.path().to_path_buf()], &Config::default());
    assert_eq!(run.files, 3);
    let rules: Vec<&str> = run.findings.iter().map(|f| f.rule).collect();
    assert!(rules.contains(&"unchecked_size_cast"), "{rules:?}");
    assert!(rules.contains(&"parse_error"), "{rules:?}");
}

/// A file `syn` rejects is parsed item by item; tens of thousands of broken items stay linear
/// (proc-macro2 looked a span's file up by a linear search over every parse of the thread).
#[test]
fn many_broken_items_degrade_linearly() {
    let text = "let fd = unsafe { libc::open(p.as_ptr(), 0) };\n".repeat(20_000);
    let findings = analyze_source("items.rs", &text, &Config::default());
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].rule, "parse_error");
    let mixed =
        format!("{text}fn f(file: &File) -> usize {{ file.metadata().unwrap().len() as usize }}\n");
    let rules: Vec<&str> = analyze_source("mixed.rs", &mixed, &Config::default())
        .iter()
        .map(|f| f.rule)
        .collect();
    assert_eq!(rules, ["parse_error", "unchecked_size_cast"]);
}

/// A function whose whole body is one acquire call (httplib.h's `socket(..)` wrappers) once
/// looped forever in `wrong_failure_sentinel`'s walk up from the call.
#[test]
fn a_body_that_is_one_acquire_call_terminates() {
    for text in [
        "int f(int d) { socket(d, 1, 0); }",
        "int f(const char* p) { { open(p, 0); } }",
    ] {
        let _ = analyze_source("one.cpp", text, &Config::default());
    }
    let _ = analyze_source(
        "one.rs",
        "fn f(p: *const i8) { unsafe { libc::open(p, 0) } }",
        &Config::default(),
    );
}

/// C++ whose error recovery tree-sitter does in quadratic time (`a = )` repeated: 16 KiB took
/// 10 s, 32 KiB 68 s) is parsed under a work budget: the file runs out, is parsed again in
/// pieces, the junk pieces are skipped and reported, and the functions on either side are still
/// analyzed (the three before it are more than a piece's 256-byte floor, so they get a piece of
/// their own). Without the budget this input would take minutes and give no note.
#[test]
fn quadratic_error_recovery_is_cut_off_and_the_code_around_it_analyzed() {
    let leak = |name: &str| {
        format!(
            "int {name}(const char* path) {{\n    int fd = open(path, O_RDONLY);\n    if (fd < 0) return -1;\n    struct stat st;\n    if (fstat(fd, &st) != 0) return -1;\n    close(fd);\n    return 0;\n}}\n"
        )
    };
    let junk = format!("{}\n", "a = )".repeat(820)).repeat(16);
    let before = ["first", "second", "third"].map(leak).concat();
    let text = format!("{before}{junk}}}\n{}", leak("after"));
    assert!(text.len() > 64 << 10, "{}", text.len());
    let files = [("junk.cpp".to_owned(), text.clone())];
    let (findings, notes) = loadguard_lint::on_analysis_stack(|| {
        loadguard_lint::analyze_group(&files, &Config::default())
    });
    let lines: Vec<(&str, usize)> = findings.iter().map(|f| (f.rule, f.line)).collect();
    let after = text
        .lines()
        .position(|l| l.starts_with("int after"))
        .unwrap()
        + 1;
    assert!(lines.contains(&("unowned_handle", 5)), "{lines:?}");
    assert!(
        lines.contains(&("unowned_handle", after + 4)),
        "{lines:?} {notes:?}"
    );
    // Each note points into the junk, where the parse was cut off.
    let junk_lines = 25..after;
    for note in &notes {
        let line: usize = note.split(':').nth(1).unwrap().parse().unwrap();
        assert!(junk_lines.contains(&line), "{note}");
    }
    assert!(
        notes[0].contains("tree-sitter's error recovery ran over its budget"),
        "{notes:?}"
    );
    assert!(
        notes.iter().any(|n| n.contains("were not analyzed")),
        "{notes:?}"
    );
}

/// Every raw input in `fuzz/regressions/lint_source/` goes through the fuzz target's checks,
/// as Rust and as C++, on stable in every `cargo test` (generator programs, which start with
/// `0xFF`, need the target's generator and are replayed by the fuzz stage only).
#[test]
fn fuzz_regressions_replay() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions/lint_source");
    let mut replayed = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        if path.extension().is_some_and(|e| e == "md") || data.first() == Some(&0xFF) {
            continue;
        }
        let text = String::from_utf8_lossy(&data);
        analyze_as("fuzz.rs", &text);
        analyze_as("fuzz.cpp", &text);
        replayed += 1;
    }
    assert!(replayed >= 1, "no raw inputs in {}", dir.display());
}

/// A run of char literals (`'"''"'…`) makes tree-sitter's recovery quadratic between its
/// progress ticks (98 KB took 18 s on 2,839 ticks), so the tick budget alone let it through;
/// the time budget cuts it off. The leak before the junk is still found.
#[test]
fn quadratic_recovery_between_ticks_is_cut_off_by_the_time_budget() {
    let leak = "int f(const char* path) {\n    int fd = open(path, O_RDONLY);\n    if (fd < 0) return -1;\n    struct stat st;\n    if (fstat(fd, &st) != 0) return -1;\n    close(fd);\n    return 0;\n}\n";
    let text = format!("{}{}\n", leak.repeat(2), "'\"'".repeat(40_000));
    let files = [("chars.cpp".to_owned(), text)];
    let (findings, notes) = loadguard_lint::on_analysis_stack(|| {
        loadguard_lint::analyze_group(&files, &Config::default())
    });
    let lines: Vec<(&str, usize)> = findings.iter().map(|f| (f.rule, f.line)).collect();
    assert!(
        lines.contains(&("unowned_handle", 5)),
        "{lines:?} {notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("tree-sitter's error recovery ran over its budget")),
        "{notes:?}"
    );
}
