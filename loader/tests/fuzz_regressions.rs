//! Replays every committed fuzz input — seed corpora and minimized crashes from
//! `fuzz/regressions/` — through the same checks the fuzz targets run, as ordinary tests, so
//! a fixed bug stays fixed on machines (and under Miri) without cargo-fuzz.

use std::fs;
use std::path::{Path, PathBuf};

fn inputs(target: &str) -> Vec<PathBuf> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut files = Vec::new();
    for dir in [
        fuzz.join("corpus").join(target),
        fuzz.join("regressions").join(target),
    ] {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        files.extend(entries.map(|e| e.unwrap().path()).filter(|p| p.is_file()));
    }
    files.sort();
    files
}

#[cfg_attr(miri, ignore = "reads the corpus from disk and runs many model steps")]
#[test]
fn registry_model_inputs_agree_with_the_model() {
    let files = inputs("registry_model");
    assert!(
        !files.is_empty(),
        "the registry_model seed corpus is missing"
    );
    for file in files {
        let data = fs::read(&file).unwrap();
        if let Err(disagreement) = loadguard::testing::model::check_registry(&data) {
            panic!("{}: {disagreement}", file.display());
        }
    }
}

/// The format targets' inputs, through the same checker the targets run
/// (`loadguard::testing::formats::check`): every parser's invariants on whatever parses, typed
/// errors (inside the input) on whatever does not, and every tensor view of the model.
#[cfg_attr(miri, ignore = "reads the corpus from disk")]
#[test]
fn format_inputs_keep_the_invariants() {
    use loadguard::format::Format;
    let mut seen = 0;
    for (target, format) in [
        ("safetensors", Some(Format::Safetensors)),
        ("safetensors_diff", Some(Format::Safetensors)),
        ("gguf", Some(Format::Gguf)),
        ("pte", Some(Format::Pte)),
        ("ptd", Some(Format::Ptd)),
        ("inspect_report", None),
    ] {
        for file in inputs(target) {
            let data = fs::read(&file).unwrap();
            if let Err(violation) = loadguard::testing::formats::check(format, &data) {
                panic!("{}: {violation}", file.display());
            }
            seen += 1;
        }
    }
    assert!(seen > 0, "no format corpus found");
}
