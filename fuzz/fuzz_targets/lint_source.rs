//! `lint_source`: no input panics the analyzer or overflows its stack, in either front-end, and
//! every report format renders whatever it finds.
//!
//! Raw inputs (lossy UTF-8, as the walker reads files) are analyzed twice: as Rust and as C++.
//! An input starting with `0xFF` (never the start of a text seed) is a program for a small
//! generator instead: each byte pair picks a fragment of Rust or C++ loader code (acquires,
//! checks, casts, chains, literals that fool lexers, `#if`s) or repeats the last one up to
//! 65,535 times, so a few hundred bytes reach large (up to `MAX_GENERATED`), deeply nested,
//! structured inputs that libFuzzer's `-max_len` alone never would. `analyze_source` runs on its own large-stack
//! thread and re-raises any panic here, where libFuzzer reports it as a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use loadguard_lint::report::{Format, Totals, render};
use loadguard_lint::{Config, analyze_source};

/// Largest generated input (256 KiB, libFuzzer's `-max_len` for raw inputs in
/// `lint_source.args`): big enough for the scale bugs (quadratic scans, deep chains,
/// tree-sitter's superlinear error recovery). The C/C++ front-end parses under a work budget
/// linear in the input's size (`lint/src/front/budget.rs`), so the worst input of this size
/// stays well under the CI's 10 s per-input timeout under ASan. Before that budget, one
/// generated 256 KiB program of broken C++ took 8.7 s here and 11 s in CI, and the cap was
/// 128 KiB.
const MAX_GENERATED: usize = 256 << 10;

const RUST: &[&str] = &[
    "fn f(p: &CStr, n: u64) -> io::Result<()> {\n",
    "}\n",
    "let fd = unsafe { libc::open(p.as_ptr(), 0) };\n",
    "if fd < 0 { return Err(io::Error::last_os_error()); }\n",
    "if fd == 0 { return Err(Error::Open); }\n",
    "let len = file.metadata()?.len();\n",
    "let x = len as usize;\n",
    "if n > u32::MAX as u64 { return Err(Error::TooLarge); }\n",
    "check(fd)?;\n",
    "unsafe { libc::close(fd) };\n",
    "a = ",
    "1 + ",
    ".b",
    "?",
    "(",
    ")",
    "[",
    "]",
    "{",
    "'\"'",
    "/* \" */",
    "r#\"\"#",
    "'a",
    "b'\\''",
    "|x| ",
    "match rc { -1 => Err(Error::Dup), v => Ok(v) }\n",
    "let mut st = MaybeUninit::<libc::stat>::uninit();\n",
    "let rc = unsafe { libc::fstat(fd, st.as_mut_ptr()) };\n",
    "let st = unsafe { st.assume_init() };\n",
    "impl Drop for S { fn drop(&mut self) { self.m.lock().unwrap(); } }\n",
    "struct S { m: Mutex<HashMap<String, u64>>, off: u64 }\n",
    "static G: OnceLock<File> = OnceLock::new();\n",
    "self.m.lock().unwrap().iter().find(|(k, _)| *k == name);\n",
    "for (k, v) in &self.map { if k == name { return Some(v); } }\n",
    "// loadguard: allow(unchecked_size_cast) fuzz\n",
    "#[cfg(windows)]\n",
    "macro_rules! m { ($x:expr) => { $x } }\n",
    "é",
    "\0",
];

const CPP: &[&str] = &[
    "int f(const char* p, uint64_t n) {\n",
    "}\n",
    "int fd = open(p, O_RDONLY);\n",
    "if (fd < 0) return -1;\n",
    "if (!fd) return -1;\n",
    "void* m = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);\n",
    "if (m == NULL) { close(fd); fprintf(stderr, \"%s\", strerror(errno)); return -1; }\n",
    "size_t len = (size_t) n;\n",
    "auto s = static_cast<uint32_t>(f.tellg());\n",
    "RETURN_IF_ERROR(check(fd));\n",
    "throw std::runtime_error(\"x\");\n",
    "a = ",
    "1 + ",
    "->b",
    "(",
    ")",
    "{",
    "'\"'",
    "/* \" */",
    "R\"(x)\"",
    "#ifdef _WIN32\n",
    "#else\n",
    "#endif\n",
    "HANDLE h = CreateFileMappingW(f, nullptr, PAGE_READONLY, 0, 0, nullptr);\n",
    "if (h == INVALID_HANDLE_VALUE) return false;\n",
    "class C { public: ~C(); private: std::mutex m_; int fd_; };\n",
    "C::~C() { std::lock_guard<std::mutex> l(m_); }\n",
    "static C* g = new C();\n",
    "for (const auto& [k, v] : map_) { if (k == name) return v; }\n",
    "template <typename T> struct X { T t; };\n",
    "[&](const auto& kv) { return kv.first == name; }",
    "@@@",
    "\0",
];

/// Runs the generator program `ops`: `(Rust?, text)`.
fn generate(ops: &[u8]) -> (bool, String) {
    let rust = ops.first().is_none_or(|b| b & 1 == 0);
    let table = if rust { RUST } else { CPP };
    let mut out = String::new();
    let mut last = "";
    let mut i = 1;
    while i + 1 < ops.len() && out.len() < MAX_GENERATED {
        let (op, arg) = (ops[i], ops[i + 1]);
        i += 2;
        if op == 0xFF && i + 1 < ops.len() {
            // Repeat the last fragment `arg`·256 + next byte times.
            let times = usize::from(arg) << 8 | usize::from(ops[i]);
            i += 1;
            let room = (MAX_GENERATED - out.len()) / last.len().max(1);
            out.push_str(&last.repeat(times.min(room)));
        } else {
            last = table[usize::from(op) % table.len()];
            out.push_str(last);
            if arg & 0x80 != 0 {
                out.push('\n');
            }
        }
    }
    (rust, out)
}

fn check(label: &str, text: &str) {
    let findings = analyze_source(label, text, &Config::default());
    for finding in &findings {
        assert!(
            finding.line >= 1 && finding.column >= 1 && finding.end_line >= finding.line,
            "{finding:?}"
        );
    }
    for format in [Format::Human, Format::Json, Format::Sarif] {
        let _ = render(format, &findings, Totals { files: 1 });
    }
}

fuzz_target!(|data: &[u8]| {
    if data.first() == Some(&0xFF) {
        let (rust, text) = generate(&data[1..]);
        check(if rust { "gen.rs" } else { "gen.cpp" }, &text);
    } else {
        let text = String::from_utf8_lossy(data);
        check("fuzz.rs", &text);
        check("fuzz.cpp", &text);
    }
});
