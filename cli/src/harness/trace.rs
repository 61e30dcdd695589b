//! `loadguard trace [--json] [--only GLOB] -- CMD [ARGS…]`: run CMD (and its children) under
//! the preload and report what it acquired and what it still held when it ended, each held
//! resource with its acquiring frame in CMD's own code. Exits with CMD's status (128 + the
//! signal when a signal ended it).
//!
//! The report goes to stdout after CMD ends; CMD's own stdout passes through before it, or,
//! with `--json`, goes to stderr so stdout is exactly one JSON object:
//! `{exit, signal, processes, dropped, unlisted, acquired: [{kind, via, what, count}],
//!   leaked: [{kind, via, what, len, count, site, backtrace}]}`.

use std::process::ExitCode;

/// Arguments of `loadguard trace`.
#[derive(clap::Args)]
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub struct Args {
    /// Print one JSON object (CMD's stdout goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// Count only calls on paths matching this glob (and mappings, reads, locks of them).
    #[arg(long, value_name = "GLOB")]
    pub only: Option<String>,
    /// Frames kept per acquire backtrace (at most 32).
    #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u8).range(1..=32))]
    pub depth: u8,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// Runs `loadguard trace`.
pub fn run(args: &Args) -> ExitCode {
    imp::run(args)
}

#[cfg(not(target_os = "linux"))]
mod imp {
    pub fn run(_: &super::Args) -> std::process::ExitCode {
        super::super::bad_input(
            "trace",
            "`loadguard trace` needs Linux (it runs the command under LD_PRELOAD)",
        )
    }
}

#[cfg(target_os = "linux")]
mod imp {
    use std::fmt::Write as _;
    use std::process::ExitCode;

    use loadguard_preload_api::{Plan, Symbolizer};
    use serde_json::{Value, json};

    use super::super::{bad_input, emit, exit_code_of, ledger, runner};
    use super::Args;

    pub fn run(args: &Args) -> ExitCode {
        let preload = match runner::preload_library() {
            Ok(p) => p,
            Err(e) => return bad_input("trace", &e),
        };
        let spec = runner::Spec {
            command: &args.command,
            preload: &preload,
            plan: Plan::new(),
            only: args.only.as_deref(),
            depth: Some(usize::from(args.depth)),
            timeout: None,
            output: if args.json {
                runner::Output::StdoutToStderr
            } else {
                runner::Output::Inherit
            },
        };
        let run = match runner::run(&spec) {
            Ok(run) => run,
            Err(e) => {
                return bad_input(
                    "trace",
                    &format!("cannot start `{}`: {}", e.program, e.error),
                );
            }
        };
        if run.reports.is_empty() {
            eprintln!(
                "loadguard trace: no process of `{}` reported to the preload: a statically linked or \
                 setuid program does not load LD_PRELOAD libraries, and one that ends with _exit \
                 or a signal writes no report",
                args.command.join(" ")
            );
        }
        let mut sym = Symbolizer::new();
        let held = ledger::held(&run.reports);
        let report = json!({
            "exit": run.exit,
            "signal": run.signal,
            "processes": run.reports.len(),
            "dropped": ledger::dropped(&run.reports),
            "unlisted": ledger::unlisted(&run.reports),
            "acquired": ledger::acquired_json(&run.reports, args.only.as_deref()),
            "leaked": ledger::leaks_json(&mut sym, &held),
        });
        if args.json {
            emit(&format!(
                "{}\n",
                serde_json::to_string_pretty(&report).unwrap_or_default()
            ));
        } else {
            emit(&human(&args.command, &report));
        }
        exit_code_of(run.exit, run.signal)
    }

    fn human(command: &[String], report: &Value) -> String {
        let mut out = String::new();
        let status = match (report["exit"].as_i64(), report["signal"].as_i64()) {
            (Some(code), _) => format!("exited with {code}"),
            (None, Some(sig)) => format!("was killed by signal {sig}"),
            _ => "ended".to_owned(),
        };
        let _ = writeln!(
            out,
            "loadguard trace: `{}` {status} ({} process images)",
            command.join(" "),
            report["processes"]
        );
        let acquired = report["acquired"].as_array().cloned().unwrap_or_default();
        let _ = writeln!(out, "acquired ({} distinct):", acquired.len());
        for a in acquired.iter().take(20) {
            let _ = writeln!(
                out,
                "  {:<8} {:<14} {:>6}x  {}",
                a["kind"].as_str().unwrap_or(""),
                a["via"].as_str().unwrap_or(""),
                a["count"],
                a["what"].as_str().unwrap_or("")
            );
        }
        if acquired.len() > 20 {
            let _ = writeln!(out, "  … {} more (--json lists all)", acquired.len() - 20);
        }
        let leaked = report["leaked"].as_array().cloned().unwrap_or_default();
        if leaked.is_empty() {
            let _ = writeln!(out, "held at exit: nothing");
        } else {
            let _ = writeln!(out, "held at exit:");
        }
        for l in &leaked {
            let len = l["len"]
                .as_u64()
                .filter(|n| *n > 0)
                .map(|n| format!(" ({n} bytes)"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {} {}{len}, {}x via {}, acquired at {}",
                l["kind"].as_str().unwrap_or(""),
                l["what"].as_str().unwrap_or(""),
                l["count"],
                l["via"].as_str().unwrap_or(""),
                l["site"].as_str().unwrap_or("?")
            );
            for (i, frame) in l["backtrace"]
                .as_array()
                .into_iter()
                .flatten()
                .take(8)
                .enumerate()
            {
                let _ = writeln!(out, "      #{i} {}", frame.as_str().unwrap_or(""));
            }
        }
        if report["unlisted"].as_u64().unwrap_or(0) > 0 {
            let _ = writeln!(
                out,
                "note: {} process images could not list what they held (a thread held the ledger at exit, or the report was cut short)",
                report["unlisted"]
            );
        }
        if report["dropped"].as_u64().unwrap_or(0) > 0 {
            let _ = writeln!(
                out,
                "note: {} resources did not fit the ledger's tables and are not listed",
                report["dropped"]
            );
        }
        out
    }
}
