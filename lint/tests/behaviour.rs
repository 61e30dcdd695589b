//! The behaviour around the rules: suppressions, `loadguard.toml`, `--rules`, parse errors,
//! walking (`.gitignore`), exit codes, and the shape of the JSON and SARIF output.

use std::fs;
use std::path::Path;

use loadguard_lint::cli::{EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, Options, run};
use loadguard_lint::config::ConfigErrorKind;
use loadguard_lint::report::Format;
use loadguard_lint::{Config, Severity, analyze_source};

const LEAKY_CAST: &str =
    "fn f(file: &File) -> usize {\n    file.metadata().unwrap().len() as usize\n}\n";

fn lines_of(text: &str, config: &Config) -> Vec<(usize, &'static str)> {
    analyze_source("t.rs", text, config)
        .into_iter()
        .map(|f| (f.line, f.rule))
        .collect()
}

#[test]
fn unsuppressed_finding_is_reported() {
    assert_eq!(
        lines_of(LEAKY_CAST, &Config::default()),
        vec![(2, "unchecked_size_cast")]
    );
}

#[test]
fn suppression_on_the_line() {
    let text = "fn f(file: &File) -> usize {\n    file.metadata().unwrap().len() as usize // loadguard: allow(unchecked_size_cast) checked by caller\n}\n";
    assert_eq!(lines_of(text, &Config::default()), vec![]);
}

#[test]
fn suppression_on_the_line_above() {
    let text = "fn f(file: &File) -> usize {\n    // loadguard: allow(unchecked_size_cast) 64-bit only\n    file.metadata().unwrap().len() as usize\n}\n";
    assert_eq!(lines_of(text, &Config::default()), vec![]);
}

#[test]
fn suppression_on_the_item_covers_its_body() {
    let text = "// loadguard: allow(unchecked_size_cast) whole function reviewed\n#[inline]\nfn f(file: &File) -> usize {\n    let a = 1;\n    file.metadata().unwrap().len() as usize\n}\n";
    assert_eq!(lines_of(text, &Config::default()), vec![]);
}

#[test]
fn suppression_of_another_rule_does_not_apply() {
    let text = "fn f(file: &File) -> usize {\n    // loadguard: allow(map_linear_scan)\n    file.metadata().unwrap().len() as usize\n}\n";
    assert_eq!(
        lines_of(text, &Config::default()),
        vec![(3, "unchecked_size_cast")]
    );
}

#[test]
fn suppression_does_not_reach_past_the_next_statement() {
    let text = "fn f(file: &File) -> usize {\n    // loadguard: allow(unchecked_size_cast)\n    let a = 1;\n    file.metadata().unwrap().len() as usize\n}\n";
    assert_eq!(
        lines_of(text, &Config::default()),
        vec![(4, "unchecked_size_cast")]
    );
}

#[test]
fn config_disables_and_sets_severity() {
    let off = Config::from_toml("[rules.unchecked_size_cast]\nenabled = false\n").unwrap();
    assert_eq!(lines_of(LEAKY_CAST, &off), vec![]);
    let note = Config::from_toml("[rules.unchecked_size_cast]\nseverity = \"note\"\n").unwrap();
    let findings = analyze_source("t.rs", LEAKY_CAST, &note);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].severity, Severity::Note);
}

#[test]
fn config_rejects_unknown_rules_keys_and_severities() {
    let e = Config::from_toml("[rules.no_such_rule]\nenabled = false\n").unwrap_err();
    assert!(matches!(&e.kind, ConfigErrorKind::UnknownRule(id) if id == "no_such_rule"));
    assert!(e.to_string().contains("unknown rule `no_such_rule`"), "{e}");
    assert!(Config::from_toml("[rules.lock_in_drop]\nenable = false\n").is_err());
    assert!(Config::from_toml("[rules.lock_in_drop]\nseverity = \"fatal\"\n").is_err());
    assert!(Config::from_toml("[rule.lock_in_drop]\n").is_err());
    assert!(Config::from_toml("not toml [").is_err());
}

fn rules_at(path: &str, text: &str, config: &Config) -> Vec<(usize, &'static str)> {
    analyze_source(path, text, config)
        .into_iter()
        .map(|f| (f.line, f.rule))
        .collect()
}

const OWN_EXIT_CPP: &str = "int load(const char* path) {\n    int fd = open(path, O_RDONLY);\n    if (fd < 0) return -1;\n    TRY_OR_BAIL(check_header(fd));\n    close(fd);\n    return 0;\n}\n";

const OWN_EXIT_RS: &str = "fn load(path: &CStr) -> Result<(), Error> {\n    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY) };\n    if fd < 0 {\n        return Err(Error::last_os_error());\n    }\n    or_bail!(check_header(fd));\n    unsafe { libc::close(fd) };\n    Ok(())\n}\n";

#[test]
fn config_adds_early_exit_macros_in_both_languages() {
    let config =
        Config::from_toml("[macros]\nearly_exit = [\"TRY_OR_BAIL\", \"or_bail\"]\n").unwrap();
    // Unknown by name, the macro is an ordinary call: the fd is closed on every path seen.
    assert_eq!(rules_at("t.cpp", OWN_EXIT_CPP, &Config::default()), vec![]);
    assert_eq!(
        rules_at("t.cpp", OWN_EXIT_CPP, &config),
        vec![(4, "unowned_handle")]
    );
    assert_eq!(rules_at("t.rs", OWN_EXIT_RS, &Config::default()), vec![]);
    assert_eq!(
        rules_at("t.rs", OWN_EXIT_RS, &config),
        vec![(6, "unowned_handle")]
    );
}

const OWN_LOOKUP_CPP: &str = "void bind(Api* api, void* h) {\n    api->open = (open_fn) LOAD_SYM(h, \"model_open\");\n    api->close = (close_fn) LOAD_SYM(h, \"model_open\");\n    api->run = (run_fn) GET_FN(\"model_run\");\n    api->stop = (run_fn) GET_FN(\"model_run\");\n}\n";

#[test]
fn config_adds_symbol_lookup_macros() {
    assert_eq!(
        rules_at("t.cpp", OWN_LOOKUP_CPP, &Config::default()),
        vec![]
    );
    let config =
        Config::from_toml("[macros]\nsymbol_lookup = { LOAD_SYM = 1, GET_FN = 0 }\n").unwrap();
    assert_eq!(
        rules_at("t.cpp", OWN_LOOKUP_CPP, &config),
        vec![(3, "duplicate_symbol"), (5, "duplicate_symbol")]
    );
    assert_eq!(config.symbol_lookup("GET_FN"), Some(0));
    assert_eq!(config.symbol_lookup("dlsym"), Some(1));
    // Another library handle is another symbol table.
    let two_libs = OWN_LOOKUP_CPP.replace(
        "LOAD_SYM(h, \"model_open\");\n    api->run",
        "LOAD_SYM(g, \"model_open\");\n    api->run",
    );
    assert_eq!(
        rules_at("t.cpp", &two_libs, &config),
        vec![(5, "duplicate_symbol")]
    );
}

#[test]
fn config_rejects_malformed_macros() {
    for (text, key) in [
        ("[macros]\nearly_exit = \"TRY\"\n", "early_exit"),
        ("[macros]\nearly_exit = [1]\n", "early_exit"),
        ("[macros]\nearly_exit = [\"TRY OR\"]\n", "early_exit"),
        ("[macros]\nsymbol_lookup = [\"LOAD\"]\n", "symbol_lookup"),
        (
            "[macros]\nsymbol_lookup = { LOAD = 99 }\n",
            "symbol_lookup.LOAD",
        ),
        (
            "[macros]\nsymbol_lookup = { LOAD = -1 }\n",
            "symbol_lookup.LOAD",
        ),
        (
            "[macros]\nsymbol_lookup = { LOAD = \"1\" }\n",
            "symbol_lookup.LOAD",
        ),
        ("[macros]\nearly_exits = [\"TRY\"]\n", "early_exits"),
    ] {
        let e = Config::from_toml(text).unwrap_err();
        assert!(
            matches!(&e.kind, ConfigErrorKind::BadMacros(k, _) if k == key),
            "{text:?}: {e:?}"
        );
        assert!(
            e.to_string()
                .starts_with(&format!("`macros.{key}`: expected ")),
            "{e}"
        );
    }
    let e = Config::from_toml("macros = 1\n").unwrap_err();
    assert!(
        matches!(&e.kind, ConfigErrorKind::NotATable(k) if k == "macros"),
        "{e:?}"
    );
}

#[test]
fn restrict_to_runs_only_the_named_rules() {
    let mut config = Config::default();
    config.restrict_to(&["lock_in_drop".to_owned()]).unwrap();
    assert_eq!(lines_of(LEAKY_CAST, &config), vec![]);
    assert!(config.restrict_to(&["nope".to_owned()]).is_err());
}

#[test]
fn unparsable_file_is_one_parse_error() {
    let findings = analyze_source("bad.rs", "fn f( {\n", &Config::default());
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].rule, "parse_error");
    assert_eq!(findings[0].line, 1);
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let text = format!(
        "fn f() {{ let x = {}1{}; }}",
        "(".repeat(100_000),
        ")".repeat(100_000)
    );
    let findings = analyze_source("deep.rs", &text, &Config::default());
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].rule, "parse_error");
    assert!(findings[0].message.contains("nesting"));
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn run_on(
    dir: &Path,
    format: Format,
    rules: Option<Vec<String>>,
    config: Option<&str>,
) -> (u8, String, String) {
    let config_path = config.map(|text| {
        let p = dir.join("cfg.toml");
        fs::write(&p, text).unwrap();
        p
    });
    let options = Options {
        paths: vec![dir.to_path_buf()],
        format,
        rules,
        config: config_path,
        explain: None,
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = run(&options, &mut out, &mut err);
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

#[test]
fn exit_codes_clean_findings_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "src/ok.rs", "fn main() {}\n");
    assert_eq!(run_on(dir.path(), Format::Human, None, None).0, EXIT_CLEAN);

    write(dir.path(), "src/cast.rs", LEAKY_CAST);
    let (code, out, _) = run_on(dir.path(), Format::Human, None, None);
    assert_eq!(code, EXIT_FINDINGS);
    assert!(out.contains("error[unchecked_size_cast]"), "{out}");
    assert!(out.contains("cast.rs:2:5"), "{out}");

    assert_eq!(
        run_on(dir.path(), Format::Human, Some(vec!["bogus".into()]), None).0,
        EXIT_ERROR
    );
    assert_eq!(
        run_on(dir.path(), Format::Human, None, Some("[rules.bogus]\n")).0,
        EXIT_ERROR
    );
    assert_eq!(
        run_on(
            dir.path(),
            Format::Human,
            Some(vec!["lock_in_drop".into()]),
            None
        )
        .0,
        EXIT_CLEAN
    );

    let options = Options {
        paths: vec![dir.path().join("missing")],
        ..Options::default()
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    assert_eq!(run(&options, &mut out, &mut err), EXIT_ERROR);
    assert!(String::from_utf8(err).unwrap().contains("missing"));
}

#[test]
fn parse_error_is_reported_and_the_run_continues() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a_bad.rs", "fn broken( {\n");
    write(dir.path(), "b_cast.rs", LEAKY_CAST);
    let (code, out, _) = run_on(dir.path(), Format::Json, None, None);
    assert_eq!(code, EXIT_FINDINGS);
    let rules: Vec<String> = out
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["rule"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(rules, ["parse_error", "unchecked_size_cast"]);
}

#[test]
fn walking_respects_gitignore() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), ".gitignore", "generated/\n");
    write(dir.path(), "generated/cast.rs", LEAKY_CAST);
    write(dir.path(), "src/lib.rs", "pub fn f() {}\n");
    let (code, out, _) = run_on(dir.path(), Format::Human, None, None);
    assert_eq!(code, EXIT_CLEAN, "{out}");
    assert!(out.contains("no findings in 1 file"), "{out}");
}

#[test]
fn json_is_one_object_per_finding_with_the_required_fields() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "cast.rs",
        &format!("{LEAKY_CAST}{}", LEAKY_CAST.replace("fn f", "fn g")),
    );
    let (_, out, _) = run_on(dir.path(), Format::Json, None, None);
    let objects: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objects.len(), 2);
    for (object, line) in objects.iter().zip([2, 5]) {
        assert_eq!(object["rule"], "unchecked_size_cast");
        assert!(object["file"].as_str().unwrap().ends_with("cast.rs"));
        assert_eq!(object["line"], line);
        assert_eq!(object["column"], 5);
        assert!(object["message"].as_str().unwrap().contains("usize"));
    }
}

#[test]
fn sarif_has_what_code_scanning_requires() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "cast.rs", LEAKY_CAST);
    let (_, out, _) = run_on(dir.path(), Format::Sarif, None, None);
    let log: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(log["version"], "2.1.0");
    assert!(log["$schema"].as_str().unwrap().contains("sarif-2.1.0"));
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert!(rules.iter().any(|r| r["id"] == "unowned_handle"));
    let result = &run["results"][0];
    assert_eq!(result["ruleId"], "unchecked_size_cast");
    assert_eq!(
        rules[usize::try_from(result["ruleIndex"].as_u64().unwrap()).unwrap()]["id"],
        "unchecked_size_cast"
    );
    assert_eq!(result["level"], "error");
    assert!(result["message"]["text"].is_string());
    let location = &result["locations"][0]["physicalLocation"];
    assert!(
        location["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .ends_with("cast.rs")
    );
    assert_eq!(location["region"]["startLine"], 2);
    assert_eq!(location["region"]["startColumn"], 5);
}

#[test]
fn c_and_cpp_files_are_walked_and_analyzed() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "src/map.cpp",
        "void* f(int fd) {\n    void* p = mmap(0, 4096, PROT_READ, MAP_PRIVATE, fd, 0);\n    if (p == NULL) return 0;\n    return p;\n}\n",
    );
    write(dir.path(), "src/notes.txt", "fd == 0\n");
    let (code, out, _) = run_on(dir.path(), Format::Json, None, None);
    assert_eq!(code, EXIT_FINDINGS);
    assert!(
        out.contains("wrong_failure_sentinel") && out.contains("map.cpp"),
        "{out}"
    );
    assert_eq!(out.lines().count(), 1, "{out}");
}

#[test]
fn a_header_declares_what_the_source_file_uses() {
    // The member's type is only in the header: the cross-file summary brings it in.
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "CMakeLists.txt", "");
    write(
        dir.path(),
        "include/session.h",
        "class Session {\n  public:\n    ~Session();\n  private:\n    std::mutex mutex_;\n};\n",
    );
    write(
        dir.path(),
        "src/session.cpp",
        "Session::~Session() {\n    std::lock_guard<std::mutex> lock(mutex_);\n}\n",
    );
    let (code, out, _) = run_on(dir.path(), Format::Json, None, None);
    assert_eq!(code, EXIT_FINDINGS);
    assert!(
        out.contains("lock_in_drop") && out.contains("session.cpp"),
        "{out}"
    );
}

#[test]
fn a_broken_cpp_region_is_a_note_and_the_rest_is_analyzed() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.cc",
        "@@@ ))) garbage (((\nint f(const char* p) {\n    int fd = open(p, 0);\n    if (fd == 0) return -1;\n    return fd;\n}\n",
    );
    let (code, out, err) = run_on(dir.path(), Format::Json, None, None);
    assert_eq!(code, EXIT_FINDINGS, "{out}{err}");
    assert!(out.contains("wrong_failure_sentinel"), "{out}");
    assert!(err.contains("note: ") && err.contains("a.cc:1:"), "{err}");
}

#[test]
fn loadguardignore_excludes_paths() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), ".loadguardignore", "corpus/\n");
    write(dir.path(), "corpus/cast.rs", LEAKY_CAST);
    write(dir.path(), "src/lib.rs", "pub fn f() {}\n");
    let (code, out, _) = run_on(dir.path(), Format::Human, None, None);
    assert_eq!(code, EXIT_CLEAN, "{out}");
}

#[test]
fn explain_prints_examples_and_rejects_unknown_rules() {
    let options = Options {
        explain: Some("unowned_handle".to_owned()),
        ..Options::default()
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    assert_eq!(run(&options, &mut out, &mut err), EXIT_CLEAN);
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains("Rust, flagged:") && out.contains("C/C++, instead:"),
        "{out}"
    );
    let options = Options {
        explain: Some("nope".to_owned()),
        ..Options::default()
    };
    let (mut out, mut err) = (Vec::new(), Vec::new());
    assert_eq!(run(&options, &mut out, &mut err), EXIT_ERROR);
    assert!(
        String::from_utf8(err)
            .unwrap()
            .starts_with("loadguard lint: unknown rule `nope`")
    );
}

#[test]
fn every_rule_has_an_example_per_language() {
    for rule in loadguard_lint::rules::RULES {
        let langs: Vec<&str> = rule.examples.iter().map(|e| e.lang).collect();
        assert_eq!(langs, ["rust", "cpp"], "{}", rule.id);
    }
}

#[test]
fn config_read_error_keeps_its_cause_as_source() {
    let e = Config::load(Path::new("/nonexistent/loadguard.toml")).unwrap_err();
    assert!(matches!(e.kind, ConfigErrorKind::Read(_)));
    assert!(std::error::Error::source(&e).is_some());
    assert!(
        !e.to_string().contains("No such file"),
        "cause shown once: {e}"
    );
}
