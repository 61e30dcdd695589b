//! Finding the source files under the given paths (respecting `.gitignore`, `.ignore` and
//! `.loadguardignore`, in parallel), grouping them by crate or directory, and analyzing batches
//! of whole groups on worker threads: every file is parsed once (largest first, so no big file
//! is left to run alone at the end), each group's summary is built from all of its files, then
//! the rules run file by file.

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
    par_map_heaviest_first(items, |_| 0, f)
}

/// [`par_map`], starting the items of largest `weight` first: one large file taken last
/// would leave the other workers idle while it is analyzed (a 4 MB header is an eighth of the
/// C/C++ benchmark corpus).
fn par_map_heaviest_first<'a, T: Sync, R: Send>(
    items: &'a [T],
    weight: impl Fn(&T) -> usize,
    f: impl Fn(&'a T) -> R + Sync,
) -> Vec<R> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    // Stable, so equal weights keep their order.
    order.sort_by_key(|&i| std::cmp::Reverse(weight(&items[i])));
    let next = AtomicUsize::new(0);
    let out: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(items.len())
        .max(1);
    let work = || {
        while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
            let r = f(&items[i]);
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

/// Files analyzed together: the groups of a batch share each phase's worker threads. Whole
/// groups go in a batch (a group larger than this is a batch of its own), so at most about
/// this many files' texts and IR are held at once, besides one large group.
const BATCH_FILES: usize = 1024;

/// Consecutive runs of whole groups holding about `max` files each.
fn batches<T>(groups: &[(PathBuf, Vec<T>)], max: usize) -> Vec<&[(PathBuf, Vec<T>)]> {
    let mut out = Vec::new();
    let (mut start, mut files) = (0, 0);
    for (i, (_, group)) in groups.iter().enumerate() {
        if files > 0 && files + group.len() > max {
            out.push(&groups[start..i]);
            (start, files) = (i, 0);
        }
        files += group.len();
    }
    if start < groups.len() {
        out.push(&groups[start..]);
    }
    out
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
    for batch in batches(&groups, BATCH_FILES) {
        // Every phase runs over the whole batch at once, so the workers wait for each other
        // once per batch, not once per (often one-file) group.
        let paths: Vec<(usize, &PathBuf)> = batch
            .iter()
            .enumerate()
            .flat_map(|(g, (_, group))| group.iter().map(move |&p| (g, p)))
            .collect();
        let texts = par_map(&paths, |&(g, path)| {
            std::fs::read(path)
                .map(|bytes| {
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    (g, display(path), text)
                })
                .map_err(|e| format!("{}: {e}", display(path)))
        });
        let mut ok = Vec::new();
        for t in texts {
            match t {
                Ok(t) => ok.push(t),
                Err(e) => run.io_errors.push(e),
            }
        }
        let lowered = par_map_heaviest_first(
            &ok,
            |(_, _, t)| t.len(),
            |(g, p, t)| (*g, crate::lower_file(p, t, config)),
        );
        // The files of one group are contiguous in `lowered`, in batch order.
        let mut summaries = Vec::with_capacity(batch.len());
        let mut from = 0;
        for g in 0..batch.len() {
            let to = from
                + lowered[from..]
                    .iter()
                    .take_while(|(lg, _)| *lg == g)
                    .count();
            summaries.push(crate::summarize(lowered[from..to].iter().map(|(_, l)| l)));
            from = to;
        }
        let checked = par_map_heaviest_first(
            &lowered,
            |(_, l)| l.text_len(),
            |(g, l)| crate::check_file(l, &summaries[*g], config),
        );
        for (mut findings, mut notes) in checked {
            run.files += 1;
            run.findings.append(&mut findings);
            run.notes.append(&mut notes);
        }
        drop(lowered);
        done += paths.len();
        if total >= 2000 && done - reported >= 2000 {
            reported = done;
            eprintln!("loadguard lint: {done}/{total} files");
        }
    }
    run.findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    run.io_errors.sort();
    run
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(sizes: &[usize]) -> Vec<(PathBuf, Vec<usize>)> {
        sizes
            .iter()
            .enumerate()
            .map(|(g, &n)| (PathBuf::from(g.to_string()), (0..n).collect()))
            .collect()
    }

    #[test]
    fn batches_hold_whole_groups_in_order_and_stay_under_the_limit() {
        let gs = groups(&[3, 4, 1, 9, 2, 2]);
        let got: Vec<Vec<usize>> = batches(&gs, 5)
            .iter()
            .map(|b| b.iter().map(|(_, g)| g.len()).collect())
            .collect();
        // [3] then 4 would make 7 > 5; 9 is larger than the limit and alone.
        assert_eq!(got, vec![vec![3], vec![4, 1], vec![9], vec![2, 2]]);
        assert!(batches::<usize>(&[], 5).is_empty());
    }

    #[test]
    fn heaviest_first_keeps_the_results_in_item_order() {
        let items: Vec<usize> = (0..100).map(|i| (i * 37) % 101).collect();
        let got = par_map_heaviest_first(&items, |&w| w, |&x| x * 2);
        assert_eq!(got, items.iter().map(|x| x * 2).collect::<Vec<_>>());
    }
}
