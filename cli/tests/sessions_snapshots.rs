//! Snapshots of the `loadguard sessions` report, table and JSON, with the figures that change
//! from run to run (latencies, RSS, fd numbers, temporary paths) redacted: what is left is the
//! report's shape and the figures that must not change (sizes, mappings created, modes).
//!
//! The report is only reachable through the binary, which only this crate's tests can run, so
//! the snapshot files are kept with every other suite in `snapshots/tests/snapshots/`.

use std::process::Command;

fn settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../../snapshots/tests/snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings
}

fn sample() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.bin");
    std::fs::write(&path, vec![9u8; 2 << 20]).unwrap();
    let path = path.to_str().unwrap().to_owned();
    (dir, path)
}

fn run(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_loadguard"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn sessions_json_report() {
    let (_dir, path) = sample();
    let mut report: serde_json::Value =
        serde_json::from_str(&run(&["sessions", &path, "-n", "3", "--compare", "--json"])).unwrap();
    redact(&mut report);
    settings().bind(|| insta::assert_json_snapshot!("sessions_json", report));
}

/// Replaces the run-to-run figures (latency, RSS, fd numbers) and the temporary path, keeping
/// every key so the snapshot still shows the report's full shape.
fn redact(value: &mut serde_json::Value) {
    const VOLATILE: [&str; 9] = [
        "open_ns",
        "touch_ns",
        "open_plus_touch_ns",
        "rss_anon_kib",
        "rss_file_kib",
        "rss_shmem_kib",
        "pss_kib",
        "page_tables_kib",
        "fds",
    ];
    let Some(object) = value.as_object_mut() else {
        return;
    };
    for (key, field) in object.iter_mut() {
        if key == "file" {
            *field = "[file]".into();
        } else if VOLATILE.contains(&key.as_str()) && field.is_number() {
            *field = "[n]".into();
        } else if VOLATILE.contains(&key.as_str()) {
            for figure in field
                .as_object_mut()
                .into_iter()
                .flat_map(|o| o.values_mut())
            {
                if figure.is_number() {
                    *figure = "[n]".into();
                }
            }
        } else {
            redact(field);
        }
    }
}

#[test]
fn sessions_table_report() {
    let (_dir, path) = sample();
    let table = run(&["sessions", &path, "-n", "2", "--compare"]);
    let mut settings = settings();
    settings.add_filter(r"^\S+model\.bin", "[file]");
    settings.add_filter(r"\d+\.\d µs", "[t] µs");
    settings.add_filter(r"\d+ → \d+ \(\+\d+\)", "[before] → [after] (+[grew])");
    settings.add_filter(r"\d+/\d+/\d+", "[fds]");
    settings.add_filter(r"\+\d+\b", "+[grew]");
    settings.add_filter(r" +", " ");
    settings.bind(|| insta::assert_snapshot!("sessions_table", table));
}
