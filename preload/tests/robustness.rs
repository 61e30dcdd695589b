//! The preload must never be the cause of a crash. Each test builds a C fixture from
//! `preload/fixtures/` with `cc`, runs it under the preload, and checks that it behaved exactly
//! as without it and that the report says what it did: threads, signal handlers that call
//! interposed functions, fork with busy threads, vfork + exec, dlopen/dlsym/dlclose (with
//! another interposer that uses `dlsym(RTLD_NEXT, …)` behind ours), a program whose own malloc
//! is built on mmap (every allocation re-enters the interposed mmap), and a library whose
//! constructor runs before the preload's own initializer.

#![cfg(all(target_os = "linux", target_arch = "x86_64", target_env = "gnu"))]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

use loadguard_preload_api::{Event, Kind, Op, Report};

#[path = "support/build_preload.rs"]
mod build;

/// The preload, built fresh once per test binary.
fn preload() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| build::build_preload(false)).clone()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// Builds `fixtures/<name>.c` into `dir` (extra `cc` arguments after the name).
fn cc(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let status = Command::new("cc")
        .args(["-g", "-O1", "-pthread", "-o"])
        .arg(&out)
        .arg(fixture(&format!("{name}.c")))
        .args(extra)
        .args(["-ldl"])
        .status()
        .expect("cc (the C compiler) on PATH");
    assert!(status.success(), "cc {name}.c failed");
    out
}

/// Builds `fixtures/<name>.c` into `dir/lib<name>.so`.
fn cc_shared(dir: &Path, name: &str) -> PathBuf {
    let lib = dir.join(format!("lib{name}.so"));
    let status = Command::new("cc")
        .args(["-shared", "-fPIC", "-O1", "-o"])
        .arg(&lib)
        .arg(fixture(&format!("{name}.c")))
        .arg("-ldl")
        .status()
        .expect("cc (the C compiler) on PATH");
    assert!(status.success(), "cc -shared {name}.c failed");
    lib
}

struct Traced {
    out: Output,
    reports: Vec<Report>,
}

/// Runs `cmd` with `LD_PRELOAD=<preload_list>`, a report directory and `env`, with a timeout.
fn traced(program: &Path, args: &[&str], preload_list: &str, env: &[(&str, &str)]) -> Traced {
    let reports = tempfile::tempdir().unwrap();
    let mut child = Command::new(program)
        .args(args)
        .env("LD_PRELOAD", preload_list)
        .env(loadguard_preload_api::REPORT_DIR_ENV, reports.path())
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(120) {
            child.kill().unwrap();
            panic!("{} {args:?} hung under the preload", program.display());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    let mut list: Vec<Report> = std::fs::read_dir(reports.path())
        .unwrap()
        .map(|e| Report::parse(&std::fs::read_to_string(e.unwrap().path()).unwrap()).unwrap())
        .collect();
    list.sort_by_key(|r| r.pid);
    Traced { out, reports: list }
}

fn assert_ok(t: &Traced, line: &str) {
    let stdout = String::from_utf8_lossy(&t.out.stdout);
    assert!(
        t.out.status.success() && stdout.contains(line),
        "status {:?}\nstdout: {stdout}\nstderr: {}",
        t.out.status,
        String::from_utf8_lossy(&t.out.stderr)
    );
    for r in &t.reports {
        assert!(r.complete, "a report was cut short: {r:?}");
        assert_eq!(r.dropped, 0);
    }
}

fn data_file(dir: &Path) -> PathBuf {
    let path = dir.join("data.bin");
    std::fs::write(&path, b"loadguard preload stress data\n").unwrap();
    path
}

/// The report of `exe`'s own process (the first one, when it forked: children have higher pids
/// only usually, so pick the one that did the forking when there is one).
fn main_report(t: &Traced, exe: &Path) -> Report {
    let own: Vec<&Report> = t
        .reports
        .iter()
        .filter(|r| Path::new(&r.exe) == exe && r.event == Event::Exit)
        .collect();
    own.iter()
        .find(|r| r.calls.contains_key(&Op::Fork))
        .or_else(|| own.first())
        .map(|r| (*r).clone())
        .expect("an exit report of the program")
}

fn run_mode(mode: &str) -> (tempfile::TempDir, PathBuf, Traced) {
    let dir = tempfile::tempdir().unwrap();
    let exe = cc(dir.path(), "stress", &[]);
    let data = data_file(dir.path());
    let t = traced(
        &exe,
        &[mode, data.to_str().unwrap()],
        preload().to_str().unwrap(),
        &[],
    );
    assert_ok(&t, &format!("ok {mode}"));
    (dir, exe, t)
}

#[test]
fn threads_share_the_ledger_and_release_everything() {
    let (_dir, exe, t) = run_mode("threads");
    let r = main_report(&t, &exe);
    // 8 threads x 2000 rounds, each one open (plus main's own) and one dup.
    assert_eq!(r.calls[&Op::Open], 16_001);
    assert_eq!(r.calls[&Op::Dup], 16_000);
    assert_eq!(
        r.calls[&Op::Mmap] - r.calls.get(&Op::Munmap).copied().unwrap_or(0),
        0
    );
    assert!(
        r.live.iter().all(|l| l.kind != Kind::Mapping),
        "{:?}",
        r.live
    );
    assert!(
        !r.live.iter().any(|l| l.what.ends_with("data.bin")),
        "{:?}",
        r.live
    );
}

#[test]
fn signal_handlers_that_call_interposed_functions_do_not_deadlock() {
    let (_dir, exe, t) = run_mode("signals");
    let stderr = String::from_utf8_lossy(&t.out.stderr);
    assert!(stderr.contains("signal handler ran"), "{stderr}");
    let r = main_report(&t, &exe);
    assert!(r.calls[&Op::Open] > 20_000, "{:?}", r.calls);
    assert!(
        !r.live
            .iter()
            .any(|l| l.what.ends_with("data.bin") || l.what == "/dev/null"),
        "{:?}",
        r.live
    );
}

#[test]
fn fork_with_busy_threads_gives_every_child_its_own_empty_ledger() {
    let (_dir, exe, t) = run_mode("fork");
    let children: Vec<_> = t
        .reports
        .iter()
        .filter(|r| !r.calls.contains_key(&Op::Fork))
        .collect();
    assert_eq!(children.len(), 100, "one report per child");
    for c in &children {
        assert_eq!(
            c.calls[&Op::Open],
            1,
            "a child counts only its own calls: {:?}",
            c.calls
        );
        assert!(
            !c.live.iter().any(|l| l.what.ends_with("data.bin")),
            "{:?}",
            c.live
        );
    }
    let parent = main_report(&t, &exe);
    assert_eq!(parent.calls[&Op::Fork], 100);
}

#[test]
fn vfork_children_leave_the_parents_ledger_alone() {
    let (_dir, exe, t) = run_mode("vfork");
    let parent = t.reports.iter().find(|r| Path::new(&r.exe) == exe).unwrap();
    assert_eq!(parent.calls[&Op::Open], 21);
    // /bin/true ran under the preload too (LD_PRELOAD is inherited): 20 reports of it.
    assert_eq!(
        t.reports
            .iter()
            .filter(|r| r.exe.ends_with("/true"))
            .count(),
        20
    );
}

#[test]
fn libraries_memfds_remaps_and_streams_balance() {
    let (_dir, exe, t) = run_mode("dl");
    let r = main_report(&t, &exe);
    assert_eq!(r.calls[&Op::Dlopen], 201);
    assert_eq!(r.calls[&Op::Dlclose], 200);
    assert_eq!(r.calls[&Op::MemfdCreate], 200);
    assert_eq!(r.calls[&Op::Mremap], 200);
    assert_eq!(r.calls[&Op::Mlock], 200);
    assert!(r.calls[&Op::Dlsym] >= 400, "{:?}", r.calls);
    assert!(
        r.live
            .iter()
            .all(|l| l.kind == Kind::Fd && !l.what.starts_with("memfd:")),
        "memfds, mappings, locks, libraries and the FILE* all released: {:?}",
        r.live
    );
    let fopen = r.acquired.iter().find(|a| a.via == "fopen").unwrap();
    assert!(fopen.what.ends_with("data.bin"));
}

#[test]
fn a_held_descriptor_is_the_parents_not_the_forked_childs() {
    let (_dir, exe, t) = run_mode("held");
    let held = |r: &Report| {
        r.live
            .iter()
            .filter(|l| l.kind == Kind::Fd && l.what.ends_with("data.bin"))
            .count()
    };
    let parent = t
        .reports
        .iter()
        .find(|r| r.calls.contains_key(&Op::Fork))
        .unwrap();
    let child = t
        .reports
        .iter()
        .find(|r| !r.calls.contains_key(&Op::Fork))
        .unwrap();
    assert_eq!((held(parent), held(child)), (1, 0));
    assert_eq!(Path::new(&parent.exe), exe);
}

#[test]
fn another_interposer_behind_ours_still_finds_the_next_read() {
    let dir = tempfile::tempdir().unwrap();
    let lib = cc_shared(dir.path(), "next_read");
    let exe = cc(dir.path(), "stress", &[]);
    let data = data_file(dir.path());
    let list = format!("{}:{}", preload().display(), lib.display());
    let t = traced(&exe, &["threads", data.to_str().unwrap()], &list, &[]);
    assert_ok(&t, "ok threads");
}

#[test]
fn a_constructor_that_runs_before_the_preload_is_initialized_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let lib = cc_shared(dir.path(), "early");
    let exe = cc(dir.path(), "stress", &[]);
    let data = data_file(dir.path());
    // Both orders: in one of them the early library's constructor runs first, and its calls
    // reach the preload before the preload's own initializer.
    for list in [
        format!("{}:{}", lib.display(), preload().display()),
        format!("{}:{}", preload().display(), lib.display()),
    ] {
        let t = traced(&exe, &["dl", data.to_str().unwrap()], &list, &[]);
        assert_ok(&t, "ok dl");
        assert!(String::from_utf8_lossy(&t.out.stderr).contains("early constructor ok"));
        let r = main_report(&t, &exe);
        // The constructor's own open of /proc/self/exe was seen and released.
        assert!(
            r.acquired.iter().any(|a| a.what == "/proc/self/exe"),
            "{list}: {:?}",
            r.acquired
        );
        assert!(!r.live.iter().any(|l| l.what == "/proc/self/exe"));
    }
}

#[test]
fn every_allocation_reentering_mmap_is_passed_through() {
    let dir = tempfile::tempdir().unwrap();
    let exe = cc(dir.path(), "own_malloc", &[]);
    let data = data_file(dir.path());
    let t = traced(
        &exe,
        &[data.to_str().unwrap()],
        preload().to_str().unwrap(),
        &[],
    );
    assert_ok(&t, "ok own_malloc");
    let r = &t.reports[0];
    assert!(
        r.calls[&Op::Mmap] > 200,
        "the program's allocations went through mmap: {:?}",
        r.calls
    );
    assert_eq!(r.calls[&Op::Dlopen], 100);
}

#[test]
fn injected_faults_reach_the_program_and_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let exe = cc(dir.path(), "stress", &[]);
    let data = data_file(dir.path());
    let plan = [(
        loadguard_preload_api::PLAN_ENV,
        "mmap@3=errno:ENOMEM;pread@2=short:3",
    )];
    let t = traced(
        &exe,
        &["rounds", data.to_str().unwrap()],
        preload().to_str().unwrap(),
        &plan,
    );
    // The fixture checks every call: the short read of round 2 fails its check first.
    assert_eq!(t.out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&t.out.stderr);
    assert!(stderr.contains("n == (ssize_t)expected_len"), "{stderr}");
    let r = main_report(&t, &exe);
    assert_eq!(r.injected.len(), 1, "{:?}", r.injected);
    assert_eq!((r.injected[0].op, r.injected[0].nth), (Op::Pread, 2));
    assert!(!r.injected[0].frames.is_empty());
    // The failed round's descriptor is still open at exit: the fixture leaks it on that path.
    assert!(
        r.live
            .iter()
            .any(|l| l.kind == Kind::Fd && l.what.ends_with("data.bin")),
        "{:?}",
        r.live
    );

    let t = traced(
        &exe,
        &["rounds", data.to_str().unwrap()],
        preload().to_str().unwrap(),
        &[(loadguard_preload_api::PLAN_ENV, "mmap@3=errno:ENOMEM")],
    );
    assert_eq!(t.out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&t.out.stderr).contains("p != MAP_FAILED"));
    assert_eq!(
        main_report(&t, &exe).injected[0].fault,
        loadguard_preload_api::Fault::Errno(12)
    );
}

#[test]
fn a_malformed_plan_is_named_on_stderr_and_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let exe = cc(dir.path(), "stress", &[]);
    let data = data_file(dir.path());
    let t = traced(
        &exe,
        &["rounds", data.to_str().unwrap()],
        preload().to_str().unwrap(),
        &[(loadguard_preload_api::PLAN_ENV, "mmap@x=eintr")],
    );
    assert_ok(&t, "ok rounds");
    let stderr = String::from_utf8_lossy(&t.out.stderr);
    assert!(
        stderr.contains(
            "loadguard-preload: ignoring LOADGUARD_PRELOAD_PLAN: the call number must be"
        ),
        "{stderr}"
    );
}

#[test]
fn dma_heap_allocations_are_counted_and_failed_and_other_ioctls_pass_through() {
    let dir = tempfile::tempdir().unwrap();
    let exe = cc(dir.path(), "stress", &[]);
    let data = data_file(dir.path());
    // No /dev/dma_heap here: the kernel refuses the request on /dev/null with ENOTTY (25)...
    let t = traced(
        &exe,
        &["ioctl", data.to_str().unwrap()],
        preload().to_str().unwrap(),
        &[],
    );
    assert_ok(&t, "dma_heap_alloc errno 25");
    assert_eq!(main_report(&t, &exe).calls[&Op::DmaHeapAlloc], 1);
    // ...and an injected fault reaches the program instead of the kernel's answer.
    let plan = [(
        loadguard_preload_api::PLAN_ENV,
        "dma_heap_alloc@1=errno:ENOMEM",
    )];
    let t = traced(
        &exe,
        &["ioctl", data.to_str().unwrap()],
        preload().to_str().unwrap(),
        &plan,
    );
    assert_ok(&t, "dma_heap_alloc errno 12");
    assert_eq!(main_report(&t, &exe).injected[0].op, Op::DmaHeapAlloc);
}

#[test]
fn exec_reports_the_descriptors_the_next_program_inherits() {
    let dir = tempfile::tempdir().unwrap();
    let exe = cc(dir.path(), "stress", &[]);
    let data = data_file(dir.path());
    let t = traced(
        &exe,
        &["exec", data.to_str().unwrap()],
        preload().to_str().unwrap(),
        &[],
    );
    assert!(
        t.out.status.success(),
        "{}",
        String::from_utf8_lossy(&t.out.stderr)
    );
    let exec = t
        .reports
        .iter()
        .find(|r| r.event == Event::Exec)
        .expect("a report written before exec");
    assert_eq!(exec.calls[&Op::Exec], 1);
    let inherited: Vec<_> = exec
        .live
        .iter()
        .filter(|l| l.what.ends_with("data.bin"))
        .collect();
    assert_eq!(inherited.len(), 1, "{:?}", exec.live);
    assert!(!inherited[0].cloexec);
    // Descriptors opened with O_CLOEXEC (the fixture's first read of the file) are not listed,
    // and neither are mappings: exec ends them.
    assert!(
        exec.live.iter().all(|l| l.kind == Kind::Fd && !l.cloexec),
        "{:?}",
        exec.live
    );
    // /bin/true ran under the preload too, with its own report.
    assert!(
        t.reports
            .iter()
            .any(|r| r.event == Event::Exit && r.exe.ends_with("/true"))
    );
}

#[test]
fn faults_injected_inside_a_handler_on_a_small_alternate_stack_are_survived() {
    let dir = tempfile::tempdir().unwrap();
    let exe = cc(dir.path(), "stress", &[]);
    let data = data_file(dir.path());
    // Every open of /dev/null (the handler's) fails: the injection path - backtrace and the
    // first injection's report - runs on the handler's SIGSTKSZ stack; the main thread's
    // opens of the data file are out of scope and succeed.
    let env = [
        (loadguard_preload_api::PLAN_ENV, "open@*=errno:EACCES"),
        (loadguard_preload_api::ONLY_ENV, "/dev/null"),
    ];
    let t = traced(
        &exe,
        &["altstack", data.to_str().unwrap()],
        preload().to_str().unwrap(),
        &env,
    );
    assert_ok(&t, "ok altstack");
    let injected: Vec<_> = t.reports.iter().flat_map(|r| &r.injected).collect();
    assert!(!injected.is_empty() && injected.iter().all(|i| i.op == Op::Open));
    // One report for the first injection, one at exit: not one per failed call.
    assert_eq!(t.reports.len(), 2);
    assert_eq!(
        t.reports.iter().filter(|r| r.event == Event::Exit).count(),
        1
    );
}
