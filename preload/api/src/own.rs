//! A test's view of the ledger of its own process, when it runs under the preload
//! (`loadguard trace -- cargo test …`, or `LD_PRELOAD=…/libloadguard_preload.so`).
//!
//! ```no_run
//! # fn load_my_model() {}
//! let before = loadguard_preload_api::Snapshot::take()?;
//! load_my_model();
//! let after = loadguard_preload_api::Snapshot::take()?;
//! let held = after.held_since(&before);
//! assert!(held.is_empty(), "{}", after.describe(&held));
//! # Ok::<(), loadguard_preload_api::NotPreloaded>(())
//! ```

use crate::op::Op;
use crate::report::{Report, Resource};
use crate::symbolize::{Symbolizer, site};

/// The symbol the preload exports for [`Snapshot::take`]:
/// `size_t loadguard_preload_report_into(char *buf, size_t cap)` writes the report of the
/// calling process into `buf` (at most `cap` bytes) and returns its full length.
pub const REPORT_SYMBOL: &str = "loadguard_preload_report_into";

/// The process does not run under the preload (or it could not write its report).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotPreloaded {
    /// No `loadguard_preload_report_into` symbol in the process.
    #[error(
        "this process does not run under loadguard's preload (no `{REPORT_SYMBOL}` symbol); run it with `loadguard trace -- …`"
    )]
    Absent,
    /// The preload's report did not parse.
    #[error("the preload's report is malformed: {0}")]
    Malformed(#[source] crate::report::ReportError),
}

/// The ledger of this process at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    report: Report,
}

impl Snapshot {
    /// Asks the preload for this process's ledger.
    ///
    /// # Errors
    /// [`NotPreloaded::Absent`] when the process does not run under the preload (and on
    /// every platform but Linux).
    pub fn take() -> Result<Snapshot, NotPreloaded> {
        let text = request().ok_or(NotPreloaded::Absent)?;
        let report = Report::parse(&text).map_err(NotPreloaded::Malformed)?;
        Ok(Snapshot { report })
    }

    /// The parsed report (live resources, calls, modules).
    #[must_use]
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// Everything the process holds now.
    #[must_use]
    pub fn live(&self) -> &[Resource] {
        &self.report.live
    }

    /// How many calls of `op` the process made so far (matching `--only`, when given).
    #[must_use]
    pub fn calls(&self, op: Op) -> u64 {
        self.report.calls.get(&op).copied().unwrap_or(0)
    }

    /// What the process holds now that it acquired after `earlier` was taken.
    #[must_use]
    pub fn held_since(&self, earlier: &Snapshot) -> Vec<&Resource> {
        self.report
            .live
            .iter()
            .filter(|r| r.seq >= earlier.report.next_seq)
            .collect()
    }

    /// One line per resource: kind, what, length and the acquiring site, symbolized now.
    #[must_use]
    pub fn describe(&self, resources: &[&Resource]) -> String {
        let mut symbolizer = Symbolizer::new();
        let mut out = String::new();
        for r in resources {
            let frames = symbolizer.locate_all(&self.report, &r.frames);
            let at = site(&frames).map_or_else(|| "?".to_owned(), |l| l.to_string());
            out.push_str(&format!(
                "{} {} ({} bytes, via {}) acquired at {at}\n",
                r.kind.name(),
                r.what,
                r.len,
                r.via
            ));
        }
        out
    }

    /// The acquiring site of `resource` (`file:line` when debug info has it).
    #[must_use]
    pub fn site_of(&self, resource: &Resource) -> Option<String> {
        let frames = Symbolizer::new().locate_all(&self.report, &resource.frames);
        site(&frames).map(crate::symbolize::Location::short)
    }
}

#[cfg(target_os = "linux")]
fn request() -> Option<String> {
    type ReportInto = unsafe extern "C" fn(*mut u8, usize) -> usize;
    let name = c"loadguard_preload_report_into";
    // SAFETY: `RTLD_DEFAULT` searches the global scope; `name` is a NUL-terminated C string
    // that outlives the call. dlsym has no other precondition.
    let sym = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    if sym.is_null() {
        return None;
    }
    // SAFETY: the preload exports this symbol with exactly the `ReportInto` signature (its
    // definition in preload/src/report.rs is `extern "C" fn(*mut u8, usize) -> usize`).
    let report_into: ReportInto =
        unsafe { std::mem::transmute::<*mut libc::c_void, ReportInto>(sym) };
    let mut buf = vec![0u8; 64 << 10];
    for _ in 0..4 {
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes, the capacity passed.
        let needed = unsafe { report_into(buf.as_mut_ptr(), buf.len()) };
        if needed <= buf.len() {
            buf.truncate(needed);
            return Some(String::from_utf8_lossy(&buf).into_owned());
        }
        // The ledger grew between two calls, or the first buffer was small: retry larger.
        buf.resize(needed + (16 << 10), 0);
    }
    None
}

#[cfg(not(target_os = "linux"))]
fn request() -> Option<String> {
    None
}
