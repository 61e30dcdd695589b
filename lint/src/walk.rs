//! Finding the Rust files under the given paths (respecting `.gitignore`, in parallel) and
//! analyzing them on worker threads.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::config::Config;
use crate::finding::Finding;

/// The outcome of a run over paths.
#[derive(Debug, Default)]
pub struct Run {
    /// Every finding, sorted by file and position.
    pub findings: Vec<Finding>,
    /// How many files were analyzed.
    pub files: usize,
    /// Paths that could not be walked or read, with the reason.
    pub io_errors: Vec<String>,
}

/// Display form of a path: as walked, with `/` separators.
fn display(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// The `.rs` files under `paths` (a path that is a file is taken whatever its extension),
/// sorted, and the errors met on the way.
#[must_use]
pub fn rust_files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<String>) {
    let files = Mutex::new(Vec::new());
    let errors = Mutex::new(Vec::new());
    for root in paths {
        match std::fs::metadata(root) {
            Ok(meta) if meta.is_file() => {
                files
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(root.clone());
                continue;
            }
            Ok(_) => {}
            Err(e) => {
                errors
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(format!("{}: {e}", display(root)));
                continue;
            }
        }
        ignore::WalkBuilder::new(root)
            .require_git(false)
            .build_parallel()
            .run(|| {
                Box::new(|entry| {
                    match entry {
                        Ok(entry) => {
                            let is_rs = entry.file_type().is_some_and(|t| t.is_file())
                                && entry.path().extension().is_some_and(|e| e == "rs");
                            if is_rs {
                                files
                                    .lock()
                                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                                    .push(entry.into_path());
                            }
                        }
                        Err(e) => errors
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .push(e.to_string()),
                    }
                    ignore::WalkState::Continue
                })
            });
    }
    let mut files = files
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    files.sort();
    files.dedup();
    (
        files,
        errors
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    )
}

/// Analyzes every Rust file under `paths` with `config`, on as many threads as there are cores.
#[must_use]
pub fn lint_paths(paths: &[PathBuf], config: &Config) -> Run {
    let (files, io_errors) = rust_files(paths);
    let mut run = analyze_files(&files, config);
    run.io_errors.splice(0..0, io_errors);
    run
}

/// Analyzes the given files in parallel.
#[must_use]
pub fn analyze_files(files: &[PathBuf], config: &Config) -> Run {
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Run::default());
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(files.len())
        .max(1);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let spawned = std::thread::Builder::new()
                .name("loadguard-walk".to_owned())
                .spawn_scoped(scope, || {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(path) = files.get(i) else { break };
                        let outcome = std::fs::read(path).map(|bytes| {
                            let text = String::from_utf8_lossy(&bytes);
                            crate::analyze_source_guarded(&display(path), &text, config)
                        });
                        let mut run = results
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        match outcome {
                            Ok(mut findings) => {
                                run.files += 1;
                                run.findings.append(&mut findings);
                            }
                            Err(e) => run.io_errors.push(format!("{}: {e}", display(path))),
                        }
                    }
                });
            if let Err(e) = spawned {
                results
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .io_errors
                    .push(format!("cannot start a worker thread: {e}"));
            }
        }
    });
    let mut run = results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    run.findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    run.io_errors.sort();
    run
}
