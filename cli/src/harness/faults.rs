//! `loadguard faults`: fail a program's calls on purpose.
//!
//! - `--op OP --nth N [--errno NAME|--short-read[=N]|--eintr] -- CMD` runs CMD once with the
//!   n-th call of OP failed, then says where the failing call was made, how CMD ended and
//!   what it still held; exits with CMD's status.
//! - `--sweep [--ops OP,…] [--timeout S] [--only GLOB] [--jobs N] [--json|--sarif] -- CMD`
//!   runs CMD clean to count each op's calls (across its whole process tree), then once per
//!   (op, n) with that call failed, and classifies each run: `handled` (exited unlike the
//!   clean run, stderr — or stdout, where libtest prints a failed test's panic — names the op
//!   or errno), `recovered` (exited like the clean run, same
//!   stdout), `crashed` (signal), `leaked` (held more at exit than the clean run), `hung`
//!   (timeout) — and, for what those five leave open, `diverged` (exited like the clean run
//!   with other output), `unreported` (exited unlike it, naming neither op nor errno) and
//!   `not_injected` (the call never came). Progress and a table go to stderr; `--json` prints
//!   `{clean: {exit, calls}, runs: [{op, nth, fault, outcome, exit, signal, stderr_tail, …}]}`,
//!   `--sarif` a SARIF log of the crashes, leaks and hangs at their frames. Exits 0 when every
//!   run is handled, recovered or not injected, 1 otherwise.

use std::process::ExitCode;

/// Arguments of `loadguard faults`.
#[derive(clap::Args)]
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub struct Args {
    /// The op to fail (one run).
    #[arg(long, value_name = "OP", conflicts_with = "sweep", requires = "nth")]
    pub op: Option<String>,
    /// Which call of OP to fail, counting from 1 across the whole process tree.
    #[arg(long, value_name = "N", requires = "op")]
    pub nth: Option<u64>,
    /// Fail every call of every op in turn, one run each.
    #[arg(long)]
    pub sweep: bool,
    /// The ops a sweep fails (comma-separated; default: every op that can be failed).
    #[arg(long, value_name = "OP,…", value_delimiter = ',', requires = "sweep")]
    pub ops: Vec<String>,
    /// The errno the call fails with (ENOMEM, EIO, … or a number); default per op.
    #[arg(long, value_name = "NAME", group = "fault")]
    pub errno: Option<String>,
    /// A short read instead (read/pread): at most N bytes, or half of what was asked.
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "0", group = "fault")]
    pub short_read: Option<u32>,
    /// EINTR instead.
    #[arg(long, group = "fault")]
    pub eintr: bool,
    /// Seconds each run may take before it counts as hung and is killed.
    #[arg(long, value_name = "S", default_value_t = 60.0)]
    pub timeout: f64,
    /// Count and fail only calls on paths matching this glob (and mappings, reads, locks of
    /// those files), so a Python or C++ program's own imports are left alone.
    #[arg(long, value_name = "GLOB")]
    pub only: Option<String>,
    /// Reruns in parallel.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: u16,
    /// Print the result as JSON on stdout.
    #[arg(long, conflicts_with = "sarif")]
    pub json: bool,
    /// Print crashes, leaks and hangs as a SARIF 2.1.0 log on stdout (sweep only).
    #[arg(long, requires = "sweep")]
    pub sarif: bool,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// Runs `loadguard faults`.
pub fn run(args: &Args) -> ExitCode {
    imp::run(args)
}

#[cfg(not(target_os = "linux"))]
mod imp {
    pub fn run(_: &super::Args) -> std::process::ExitCode {
        super::super::bad_input(
            "faults",
            "`loadguard faults` needs Linux (it runs the command under LD_PRELOAD)",
        )
    }
}

#[cfg(target_os = "linux")]
mod imp {
    use std::collections::BTreeMap;
    use std::fmt::Write as _;
    use std::process::ExitCode;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use loadguard_preload_api::{
        Fault, Op, Plan, Rule, Symbolizer, When, errno_from_name, errno_name,
    };
    use serde_json::{Value, json};

    use super::super::classify::{self, Outcome};
    use super::super::{bad_input, emit, exit_code_of, ledger, runner, sarif};
    use super::Args;

    /// The fault asked for on the command line, or `None` for each op's default.
    fn fault_arg(args: &Args) -> Result<Option<Fault>, String> {
        if let Some(name) = &args.errno {
            return errno_from_name(name)
                .map(|n| Some(Fault::Errno(n)))
                .ok_or_else(|| {
                    format!("unknown errno `{name}` (ENOMEM, EIO, EACCES, … or a number 1-4095)")
                });
        }
        if let Some(n) = args.short_read {
            return Ok(Some(Fault::ShortRead((n > 0).then_some(n))));
        }
        Ok(args.eintr.then_some(Fault::Interrupted))
    }

    fn parse_op(name: &str) -> Result<Op, String> {
        let list = Op::INJECTABLE.map(Op::name).join(", ");
        match Op::from_name(name) {
            Some(op) if op.injectable() => Ok(op),
            Some(op) => Err(format!(
                "`{op}` is counted but never failed; ops that can be failed: {list}"
            )),
            None => Err(format!(
                "unknown op `{name}`; ops that can be failed: {list}"
            )),
        }
    }

    pub fn fault_name(fault: Fault) -> String {
        match fault {
            Fault::Errno(n) => errno_name(n).map_or_else(|| n.to_string(), str::to_owned),
            Fault::Interrupted => "EINTR".to_owned(),
            Fault::ShortRead(None) => "short".to_owned(),
            Fault::ShortRead(Some(n)) => format!("short:{n}"),
            _ => "?".to_owned(),
        }
    }

    fn plan_for(op: Op, nth: u64, fault: Fault) -> Result<Plan, String> {
        let rule = Rule::new(op, When::Nth(nth), fault).map_err(|e| e.to_string())?;
        let mut plan = Plan::new();
        plan.push(rule).map_err(|e| e.to_string())?;
        Ok(plan)
    }

    pub fn run(args: &Args) -> ExitCode {
        if args.timeout.is_nan() || args.timeout <= 0.0 || args.timeout > 86_400.0 {
            return bad_input("faults", "--timeout must be between 0 and 86400 seconds");
        }
        let fault = match fault_arg(args) {
            Ok(f) => f,
            Err(e) => return bad_input("faults", &e),
        };
        let preload = match runner::preload_library() {
            Ok(p) => p,
            Err(e) => return bad_input("faults", &e),
        };
        match (&args.op, args.nth, args.sweep) {
            (Some(op), Some(nth), false) => {
                let op = match parse_op(op) {
                    Ok(op) => op,
                    Err(e) => return bad_input("faults", &e),
                };
                let fault = fault.unwrap_or(Fault::default_for(op));
                match plan_for(op, nth, fault) {
                    Ok(plan) => once(args, &preload, op, nth, fault, plan),
                    Err(e) => bad_input("faults", &e),
                }
            }
            (None, None, true) => sweep(args, &preload, fault),
            _ => bad_input("faults", "give either --op OP --nth N (one run) or --sweep"),
        }
    }

    fn spec<'a>(
        args: &'a Args,
        preload: &'a std::path::Path,
        plan: Plan,
        output: runner::Output,
    ) -> runner::Spec<'a> {
        runner::Spec {
            command: &args.command,
            preload,
            plan,
            only: args.only.as_deref(),
            depth: None,
            timeout: Some(Duration::from_secs_f64(args.timeout)),
            output,
        }
    }

    fn start_failed(e: &runner::StartError) -> ExitCode {
        bad_input(
            "faults",
            &format!("cannot start `{}`: {}", e.program, e.error),
        )
    }

    /// The injection's site and backtrace, from the report of the process that got it.
    fn injection_site(
        sym: &mut Symbolizer,
        run: &runner::Run,
        op: Op,
        nth: u64,
    ) -> (Option<String>, Vec<String>, Option<(String, u32)>) {
        for report in &run.reports {
            if let Some(inj) = report.injected.iter().find(|i| i.op == op && i.nth == nth) {
                let (site, frames) = ledger::symbolize(sym, report, &inj.frames);
                let file_line = site.as_ref().and_then(|l| Some((l.file.clone()?, l.line?)));
                return (
                    site.map(|l| l.short()),
                    frames.iter().map(ToString::to_string).collect(),
                    file_line,
                );
            }
        }
        (None, Vec::new(), None)
    }

    fn once(
        args: &Args,
        preload: &std::path::Path,
        op: Op,
        nth: u64,
        fault: Fault,
        plan: Plan,
    ) -> ExitCode {
        let output = if args.json {
            runner::Output::StdoutToStderr
        } else {
            runner::Output::Inherit
        };
        let run = match runner::run(&spec(args, preload, plan, output)) {
            Ok(run) => run,
            Err(e) => return start_failed(&e),
        };
        let mut sym = Symbolizer::new();
        let (site, backtrace, _) = injection_site(&mut sym, &run, op, nth);
        let held = ledger::held(&run.reports);
        let result = json!({
            "op": op.name(), "nth": nth, "fault": fault_name(fault),
            "injected": run.injected > 0, "site": site, "backtrace": backtrace,
            "exit": run.exit, "signal": run.signal, "timed_out": run.timed_out,
            "leaked": ledger::leaks_json(&mut sym, &held),
        });
        if args.json {
            emit(&format!(
                "{}\n",
                serde_json::to_string_pretty(&result).unwrap_or_default()
            ));
        } else {
            let mut out = String::new();
            if run.injected == 0 {
                let _ = writeln!(
                    out,
                    "loadguard faults: {op} call #{nth} never happened (the run made fewer); nothing injected"
                );
            } else {
                let _ = writeln!(
                    out,
                    "loadguard faults: failed {op} call #{nth} with {} at {}",
                    fault_name(fault),
                    result["site"].as_str().unwrap_or("?")
                );
            }
            let how = match (run.exit, run.signal) {
                _ if run.timed_out => format!("hung (killed after {} s)", args.timeout),
                (Some(c), _) => format!("exited with {c}"),
                (None, Some(s)) => format!("was killed by signal {s}"),
                _ => "ended".into(),
            };
            let _ = writeln!(out, "`{}` {how}", args.command.join(" "));
            for l in result["leaked"].as_array().into_iter().flatten() {
                let _ = writeln!(
                    out,
                    "  held at exit: {} {} ({}x via {}) acquired at {}",
                    l["kind"].as_str().unwrap_or(""),
                    l["what"].as_str().unwrap_or(""),
                    l["count"],
                    l["via"].as_str().unwrap_or(""),
                    l["site"].as_str().unwrap_or("?")
                );
            }
            eprint!("{out}");
        }
        exit_code_of(run.exit, run.signal)
    }

    /// A rerun and its outcome, or why it could not be made.
    type RunResult = Result<(runner::Run, Outcome), String>;

    struct Job {
        op: Op,
        nth: u64,
        fault: Fault,
    }

    fn sweep(args: &Args, preload: &std::path::Path, fault: Option<Fault>) -> ExitCode {
        let mut ops = Vec::new();
        for name in &args.ops {
            match parse_op(name.trim()) {
                Ok(op) => ops.push(op),
                Err(e) => return bad_input("faults", &e),
            }
        }
        let short = matches!(fault, Some(Fault::ShortRead(_)));
        if ops.is_empty() {
            ops = Op::INJECTABLE
                .into_iter()
                .filter(|op| !short || op.reads())
                .collect();
        }
        if let Some(op) = ops.iter().find(|op| short && !op.reads()) {
            return bad_input(
                "faults",
                &format!("--short-read applies to read and pread, not `{op}`"),
            );
        }
        eprintln!(
            "loadguard faults: clean run of `{}`",
            args.command.join(" ")
        );
        let clean = match runner::run(&spec(args, preload, Plan::new(), runner::Output::Capture)) {
            Ok(run) => run,
            Err(e) => return start_failed(&e),
        };
        if clean.timed_out || clean.signal.is_some() {
            eprintln!(
                "loadguard faults: the clean run {} — nothing to compare faults against",
                if clean.timed_out {
                    "did not finish in time".to_owned()
                } else {
                    format!("was killed by signal {}", clean.signal.unwrap_or(0))
                }
            );
            eprint!("{}", tail(&clean.stderr));
            return ExitCode::FAILURE;
        }
        let clean_held = ledger::held_keys(&clean.reports);
        let jobs: Vec<Job> = ops
            .iter()
            .flat_map(|&op| {
                let n = clean.calls.get(&op).copied().unwrap_or(0);
                let fault = fault.unwrap_or(Fault::default_for(op));
                (1..=n).map(move |nth| Job { op, nth, fault })
            })
            .collect();
        let calls: BTreeMap<&str, u64> =
            clean.calls.iter().map(|(op, n)| (op.name(), *n)).collect();
        eprintln!(
            "loadguard faults: clean run exited with {:?}; calls: {calls:?}; {} runs to make",
            clean.exit,
            jobs.len()
        );

        let next = AtomicUsize::new(0);
        let done = AtomicUsize::new(0);
        let results: Mutex<Vec<Option<RunResult>>> =
            Mutex::new((0..jobs.len()).map(|_| None).collect());
        std::thread::scope(|scope| {
            for _ in 0..usize::from(args.jobs).min(jobs.len().max(1)) {
                scope.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(job) = jobs.get(i) else { break };
                        let result = plan_for(job.op, job.nth, job.fault)
                            .and_then(|plan| {
                                runner::run(&spec(args, preload, plan, runner::Output::Capture))
                                    .map_err(|e| e.error.to_string())
                            })
                            .map(|run| {
                                let held = ledger::held_keys(&run.reports);
                                let outcome = classify::classify(
                                    &run,
                                    &clean,
                                    &clean_held,
                                    &held,
                                    job.op,
                                    job.fault,
                                );
                                (run, outcome)
                            });
                        let k = done.fetch_add(1, Ordering::Relaxed) + 1;
                        let word = match &result {
                            Ok((_, outcome)) => outcome.name().to_owned(),
                            Err(e) => format!("could not run: {e}"),
                        };
                        eprintln!(
                            "[{k}/{}] {} #{} {}: {word}",
                            jobs.len(),
                            job.op,
                            job.nth,
                            fault_name(job.fault)
                        );
                        if let Ok(mut r) = results.lock() {
                            if let Some(slot) = r.get_mut(i) {
                                *slot = Some(result);
                            }
                        }
                    }
                });
            }
        });
        let results = results.into_inner().unwrap_or_default();

        let mut sym = Symbolizer::new();
        let mut runs = Vec::new();
        let mut findings = Vec::new();
        let mut tally: BTreeMap<Outcome, usize> = BTreeMap::new();
        let mut all_ok = true;
        for (job, result) in jobs.iter().zip(results) {
            let Some(Ok((run, outcome))) = result else {
                all_ok = false;
                continue;
            };
            *tally.entry(outcome).or_insert(0) += 1;
            all_ok &= outcome.ok();
            let (site, backtrace, file_line) = injection_site(&mut sym, &run, job.op, job.nth);
            let extra = classify::extra(&clean_held, &ledger::held_keys(&run.reports));
            let held: Vec<_> = ledger::held(&run.reports)
                .into_iter()
                .filter(|(report, res)| extra.contains_key(&ledger::key(report, res)))
                .collect();
            let leaked = ledger::leaks_json(&mut sym, &held);
            let entry = json!({
                "op": job.op.name(), "nth": job.nth, "fault": fault_name(job.fault),
                "outcome": outcome.name(), "exit": run.exit, "signal": run.signal,
                "stderr_tail": tail(&run.stderr), "site": site, "backtrace": backtrace,
                "leaked": leaked,
            });
            if matches!(outcome, Outcome::Crashed | Outcome::Leaked | Outcome::Hung) {
                findings.push(sarif::Finding {
                    outcome: outcome.name(),
                    run: entry.clone(),
                    injection_site: file_line,
                });
            }
            runs.push(entry);
        }
        eprint!("{}", table(&runs, &tally));
        if args.json {
            let out = json!({"clean": {"exit": clean.exit, "calls": calls}, "runs": runs});
            emit(&format!(
                "{}\n",
                serde_json::to_string_pretty(&out).unwrap_or_default()
            ));
        } else if args.sarif {
            emit(&format!(
                "{}\n",
                serde_json::to_string_pretty(&sarif::log(&args.command, &findings))
                    .unwrap_or_default()
            ));
        }
        if all_ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }

    fn tail(bytes: &[u8]) -> String {
        let text = String::from_utf8_lossy(bytes);
        let lines: Vec<&str> = text.lines().collect();
        let start = lines.len().saturating_sub(12);
        let mut tail = lines[start..].join("\n");
        if tail.len() > 2000 {
            let cut = tail.len() - 2000;
            let cut = (cut..tail.len())
                .find(|&i| tail.is_char_boundary(i))
                .unwrap_or(tail.len());
            tail = tail[cut..].to_owned();
        }
        tail
    }

    fn table(runs: &[Value], tally: &BTreeMap<Outcome, usize>) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\n{:<16} {:>5}  {:<10} {:<13} {:<6} site",
            "op", "nth", "fault", "outcome", "exit"
        );
        for r in runs {
            let exit = r["exit"].as_i64().map_or_else(
                || {
                    r["signal"]
                        .as_i64()
                        .map_or("-".into(), |s| format!("sig{s}"))
                },
                |c| c.to_string(),
            );
            let _ = writeln!(
                out,
                "{:<16} {:>5}  {:<10} {:<13} {:<6} {}",
                r["op"].as_str().unwrap_or(""),
                r["nth"].as_u64().unwrap_or(0),
                r["fault"].as_str().unwrap_or(""),
                r["outcome"].as_str().unwrap_or(""),
                exit,
                r["site"].as_str().unwrap_or("?")
            );
        }
        let summary: Vec<String> = Outcome::ALL
            .iter()
            .filter_map(|o| tally.get(o).map(|n| format!("{n} {}", o.name())))
            .collect();
        let _ = writeln!(
            out,
            "{} runs: {}",
            runs.len(),
            if summary.is_empty() {
                "none".into()
            } else {
                summary.join(", ")
            }
        );
        out
    }
}
