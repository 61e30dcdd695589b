//! The adversarial corpus (`fixtures/adversarial/`, written by its `generate.py`): GGUF CVE
//! shapes, safetensors audit shapes, ExecuTorch header and flatbuffer attacks, and accepted
//! files a report must survive. Each file has its verdict in `manifest.txt`; every file also
//! goes through the shared format checker. Files named `held_*` were written after the
//! parsers were final and never tuned against: they are counted and reported separately.

use std::path::{Path, PathBuf};

use loadguard::format::{self, Format};
use loadguard::testing::formats::check;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/adversarial")
}

fn format_of(name: &str) -> Option<Format> {
    Format::from_extension(Path::new(name))
}

#[test]
#[cfg_attr(miri, ignore = "reads 160 files from disk, some of 400 KB")]
fn every_adversarial_file_gets_its_verdict() {
    let manifest = std::fs::read_to_string(corpus().join("manifest.txt")).unwrap();
    let (mut tuned, mut held, mut wrong) = ((0, 0), (0, 0), Vec::new());
    for line in manifest.lines().filter(|l| !l.is_empty()) {
        let mut parts = line.split_whitespace();
        let (name, verdict, rule) = (parts.next().unwrap(), parts.next().unwrap(), parts.next());
        let path = corpus().join(name);
        let bytes = std::fs::read(&path).unwrap();
        let got = format::parse(&path, &bytes);
        let ok = match (verdict, &got) {
            ("accept", Ok(_)) => true,
            ("reject-any", Err(_)) => true,
            ("reject", Err(e)) => Some(e.rule.name()) == rule,
            _ => false,
        };
        check(format_of(name), &bytes).unwrap_or_else(|v| panic!("{name}: {v}"));
        check(None, &bytes).unwrap_or_else(|v| panic!("{name}: {v}"));
        let tally = if name.starts_with("held_") {
            &mut held
        } else {
            &mut tuned
        };
        tally.0 += 1;
        if ok {
            tally.1 += 1;
        } else {
            let got = got.map_or_else(
                |e| format!("reject {} ({e})", e.rule.name()),
                |_| "accept".into(),
            );
            wrong.push(format!(
                "{name}: expected {verdict} {}, got {got}",
                rule.unwrap_or("")
            ));
        }
    }
    println!(
        "adversarial corpus: tuned {}/{} as expected, held-out {}/{}",
        tuned.1, tuned.0, held.1, held.0
    );
    assert!(wrong.is_empty(), "verdicts differ:\n{}", wrong.join("\n"));
    assert!(
        tuned.0 >= 80 && held.0 >= 10,
        "corpus too small: {tuned:?} {held:?}"
    );
}
