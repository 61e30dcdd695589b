//! The vocabulary of loadguard's `LD_PRELOAD` harness, shared by the preload
//! (`loadguard-preload`), the `loadguard trace` / `loadguard faults` commands and tests that
//! read their own process's ledger:
//!
//! - [`Op`], [`Plan`], [`Fault`]: what is counted and what is failed, and the text form of a
//!   plan the preload reads from [`PLAN_ENV`];
//! - [`Report`]: what the preload writes for each process (at exit, before `exec`, or on
//!   request), and [`Symbolizer`] to turn its frames into `file:line`s;
//! - [`Snapshot`]: the ledger of the calling process, for a test running under the preload.
//!
//! The preload itself is Linux-only; on other platforms this crate still builds, and
//! [`Snapshot::take`] reports [`NotPreloaded::Absent`].

#![warn(missing_docs)]

mod errno;
mod glob;
mod op;
mod own;
mod plan;
mod report;
mod symbolize;

pub use errno::{ERRNOS, errno_from_name, errno_message, errno_name};
pub use glob::path_matches;
pub use op::Op;
pub use own::{NotPreloaded, REPORT_SYMBOL, Snapshot};
pub use plan::{Fault, MAX_RULES, Plan, PlanError, PlanRules, Rule, When, parse_fault};
pub use report::{
    Acquired, Event, Frame, Injection, Kind, MAGIC, Report, ReportError, Resource, escape_into,
    is_plain, unescape,
};
pub use symbolize::{Location, Symbolizer, site};

/// The fault plan, in [`Plan`]'s text form.
pub const PLAN_ENV: &str = "LOADGUARD_PRELOAD_PLAN";
/// `--only`: count and fail only calls on paths matching this glob ([`path_matches`]) and on
/// mappings, reads and locks of such files.
pub const ONLY_ENV: &str = "LOADGUARD_PRELOAD_ONLY";
/// A directory the preload writes one report file per process into (`<pid>-<n>.lgr`).
pub const REPORT_DIR_ENV: &str = "LOADGUARD_PRELOAD_REPORT_DIR";
/// A file of [`COUNTER_SLOTS`] little-endian `u64`s shared by every process of the traced
/// tree, so the n-th call of an op is counted across parent and children. Without it each
/// process counts its own.
pub const COUNTERS_ENV: &str = "LOADGUARD_PRELOAD_COUNTERS";
/// How many frames each acquire backtrace keeps (default 24, at most 32).
pub const DEPTH_ENV: &str = "LOADGUARD_PRELOAD_DEPTH";

/// Slots in the counter file: one per [`Op::ALL`] entry (by [`Op::index`]), then
/// [`INJECTED_SLOT`].
pub const COUNTER_SLOTS: usize = 32;
/// The counter slot that counts injected faults.
pub const INJECTED_SLOT: usize = 31;
