//! Finding the source files under the given paths (respecting `.gitignore`, `.ignore` and
//! `.loadguardignore`, in parallel), grouping them by crate or directory, and analyzing each
//! group on worker threads: every file is parsed once, the group's summary is built from all
//! of them, then the rules run file by file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::config::Config;
use crate::finding::Finding;
use crate::front::language_of;

/// The outcome of a run over paths.
#[derive(Debug, Default)]
pub struct Run {
    /// Every finding, sorted by file and position.
    pub findings: Vec<Finding>,
    /// How many files were analyzed.
    pub files: usize,
    /// Paths that could not be walked or read, with the reason.
    pub io_errors: Vec<String>,
    /// C/C++ regions that did not parse and were skipped (the rest of the file was analyzed).
    pub notes: Vec<String>,
}

/// The name of the repository-level ignore file `loadguard lint` honours besides `.gitignore`
/// and `.ignore` (same syntax).
pub const IGNORE_FILE: &str = ".loadguardignore";

/// Display form of a path: as walked, with `/` separators.
fn display(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The Rust, C and C++ files under `paths` (a path that is a file is taken whatever its
/// extension), sorted, and the errors met on the way.
#[must_use]
pub fn source_files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<String>) {
    let files = Mutex::new(Vec::new());
    let errors = Mutex::new(Vec::new());
    for root in paths {
        match std::fs::metadata(root) {
            Ok(meta) if meta.is_file() => {
                lock(&files).push(root.clone());
                continue;
            }
            Ok(_) => {}
            Err(e) => {
                lock(&errors).push(format!("{}: {e}", display(root)));
                continue;
            }
        }
        ignore::WalkBuilder::new(root)
            .require_git(false)
            .add_custom_ignore_filename(IGNORE_FILE)
            .build_parallel()
            .run(|| {
                Box::new(|entry| {
                    match entry {
                        Ok(entry) => {
                            let wanted = entry.file_type().is_some_and(|t| t.is_file())
                                && language_of(entry.path()).is_some();
                            if wanted {
                                lock(&files).push(entry.into_path());
                            }
                        }
                        Err(e) => lock(&errors).push(e.to_string()),
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

/// The group a file belongs to: its nearest ancestor directory that is a crate or project
/// root (`Cargo.toml`, `CMakeLists.txt`, `meson.build`, `Makefile`, `BUILD`, `.git`), else the
/// path it was found under (one of `roots`), else its top directory. Files of one group share
/// declarations.
fn group_of(file: &Path, roots: &[PathBuf], cache: &mut HashMap<PathBuf, PathBuf>) -> PathBuf {
    let start = file.parent().unwrap_or(Path::new("")).to_path_buf();
    let mut dir = start.clone();
    let mut seen = Vec::new();
    let found = loop {
        if let Some(g) = cache.get(&dir) {
            break g.clone();
        }
        seen.push(dir.clone());
        let is_root = [
            "Cargo.toml",
            "CMakeLists.txt",
            "meson.build",
            "Makefile",
            "BUILD",
            "BUILD.bazel",
            ".git",
        ]
        .iter()
        .any(|m| dir.join(m).exists());
        if is_root || roots.iter().any(|r| r == &dir) {
            break dir.clone();
        }
        match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => dir = p.to_path_buf(),
            _ => break dir.clone(),
        }
    };
    for d in seen {
        cache.insert(d, found.clone());
    }
    found
}

/// Analyzes every source file under `paths` with `config`, on as many threads as there are
/// cores.
#[must_use]
pub fn lint_paths(paths: &[PathBuf], config: &Config) -> Run {
    let (files, io_errors) = source_files(paths);
    let mut run = analyze_under(&files, paths, config);
    run.io_errors.splice(0..0, io_errors);
    run
}

/// Runs `f` on every item, on up to `available_parallelism` threads with the analysis stack,
/// keeping the order of the results.
fn par_map<'a, T: Sync, R: Send>(items: &'a [T], f: impl Fn(&'a T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let out: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(items.len())
        .max(1);
    let work = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else { break };
            let r = f(item);
            lock(&out)[i] = Some(r);
        }
    };
    std::thread::scope(|scope| {
        let mut started = 0;
        for _ in 0..workers {
            let spawned = std::thread::Builder::new()
                .name("loadguard-lint".to_owned())
                .stack_size(crate::ANALYSIS_STACK)
                .spawn_scoped(scope, work);
            if spawned.is_ok() {
                started += 1;
            }
        }
        if started == 0 {
            crate::on_analysis_stack(work);
        }
    });
    out.into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .into_iter()
        .flatten()
        .collect()
}

/// Analyzes the given files: grouped by crate or directory, each group's files in parallel.
#[must_use]
pub fn analyze_files(files: &[PathBuf], config: &Config) -> Run {
    analyze_under(files, &[], config)
}

/// [`analyze_files`], with groups never reaching above the directories in `roots`.
#[must_use]
pub fn analyze_under(files: &[PathBuf], roots: &[PathBuf], config: &Config) -> Run {
    let mut cache = HashMap::new();
    let mut groups: Vec<(PathBuf, Vec<&PathBuf>)> = Vec::new();
    let mut index: HashMap<PathBuf, usize> = HashMap::new();
    for f in files {
        let g = group_of(f, roots, &mut cache);
        let i = *index.entry(g.clone()).or_insert_with(|| {
            groups.push((g, Vec::new()));
            groups.len() - 1
        });
        groups[i].1.push(f);
    }
    let mut run = Run::default();
    let total = files.len();
    let mut done = 0usize;
    let mut reported = 0usize;
    for (_, group) in &groups {
        let texts: Vec<Result<(String, String), String>> = par_map(group, |path| {
            std::fs::read(path)
                .map(|bytes| (display(path), String::from_utf8_lossy(&bytes).into_owned()))
                .map_err(|e| format!("{}: {e}", display(path)))
        });
        let mut ok = Vec::new();
        for t in texts {
            match t {
                Ok(t) => ok.push(t),
                Err(e) => run.io_errors.push(e),
            }
        }
        let lowered = par_map(&ok, |(p, t)| crate::lower_file(p, t, config));
        let summary = crate::summarize(&lowered);
        let checked = par_map(&lowered, |l| crate::check_file(l, &summary, config));
        for (mut findings, mut notes) in checked {
            run.files += 1;
            run.findings.append(&mut findings);
            run.notes.append(&mut notes);
        }
        drop(lowered);
        done += group.len();
        if total >= 2000 && done - reported >= 2000 {
            reported = done;
            eprintln!("loadguard lint: {done}/{total} files");
        }
    }
    run.findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    run.io_errors.sort();
    run
}
