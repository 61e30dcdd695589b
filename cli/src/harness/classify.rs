//! The outcome of one injected fault.

use std::collections::BTreeMap;

use loadguard_preload_api::{Fault, Op, errno_message, errno_name};

use super::ledger::LeakKey;
use super::runner::Run;

/// What one rerun with one injected fault did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// Exited unlike the clean run, and stderr (or stdout, where test harnesses such as
    /// libtest print a failing test's panic) names the failing op or errno.
    Handled,
    /// Exited like the clean run, with the same output.
    Recovered,
    /// Killed by a signal.
    Crashed,
    /// Held resources at exit beyond the clean run's.
    Leaked,
    /// Still running at the timeout.
    Hung,
    /// Exited like the clean run, but printed something else (a failure swallowed into a
    /// wrong result).
    Diverged,
    /// Exited unlike the clean run without naming the op or the errno on stderr.
    Unreported,
    /// The fault never fired (the call did not happen again in this run: the program is not
    /// deterministic, or the earlier calls changed).
    NotInjected,
}

impl Outcome {
    /// Every outcome, in table order.
    pub const ALL: [Outcome; 8] = [
        Outcome::Handled,
        Outcome::Recovered,
        Outcome::Crashed,
        Outcome::Leaked,
        Outcome::Hung,
        Outcome::Diverged,
        Outcome::Unreported,
        Outcome::NotInjected,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Outcome::Handled => "handled",
            Outcome::Recovered => "recovered",
            Outcome::Crashed => "crashed",
            Outcome::Leaked => "leaked",
            Outcome::Hung => "hung",
            Outcome::Diverged => "diverged",
            Outcome::Unreported => "unreported",
            Outcome::NotInjected => "not_injected",
        }
    }

    /// Whether this outcome is fine (the sweep exits 0 when every run is).
    pub fn ok(self) -> bool {
        matches!(
            self,
            Outcome::Handled | Outcome::Recovered | Outcome::NotInjected
        )
    }
}

/// Masks what differs between two correct runs: durations such as `0.03s` (cargo test's
/// summary) become `#s`.
pub fn normalize(output: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(output.len());
    let mut i = 0;
    while i < output.len() {
        let digits = output[i..]
            .iter()
            .take_while(|b| b.is_ascii_digit() || **b == b'.')
            .count();
        let starts_number =
            output[i].is_ascii_digit() && (i == 0 || !output[i - 1].is_ascii_alphanumeric());
        if starts_number
            && output.get(i + digits) == Some(&b's')
            && output[i..i + digits].contains(&b'.')
        {
            out.extend_from_slice(b"#s");
            i += digits + 1;
        } else {
            out.push(output[i]);
            i += 1;
        }
    }
    out
}

/// Whether `stderr` names the failure: the op, the errno's name, number or message, or the
/// markers the preload puts in `dlerror()`.
pub fn names_failure(stderr: &[u8], op: Op, fault: Fault) -> bool {
    let text = String::from_utf8_lossy(stderr).to_lowercase();
    let mut needles: Vec<String> = vec![
        op.name().to_owned(),
        "loadguard-preload-injected-fault".into(),
        "loadguard_preload_injected_fault".into(),
    ];
    if op == Op::Pread {
        needles.push("read".into());
    }
    if op == Op::MemfdCreate {
        needles.push("memfd".into());
    }
    if op == Op::DmaHeapAlloc {
        needles.push("dma".into());
    }
    match fault {
        Fault::ShortRead(_) => needles.extend(
            [
                "short",
                "eof",
                "end of file",
                "truncat",
                "incomplete",
                "fill whole buffer",
            ]
            .map(String::from),
        ),
        _ => {
            if let Some(n) = fault.errno() {
                needles.push(format!("os error {n}"));
                needles.push(format!("errno {n}"));
                // Errno names as written (upper case): "eio" would match "video".
                if let Some(name) = errno_name(n) {
                    if String::from_utf8_lossy(stderr).contains(name) {
                        return true;
                    }
                }
                if let Some(msg) = errno_message(n) {
                    needles.push(msg.to_lowercase());
                }
            }
        }
    }
    needles.iter().any(|n| text.contains(n.as_str()))
}

/// Classifies a rerun against the clean run.
pub fn classify(
    run: &Run,
    clean: &Run,
    clean_held: &BTreeMap<LeakKey, u64>,
    held: &BTreeMap<LeakKey, u64>,
    op: Op,
    fault: Fault,
) -> Outcome {
    if run.timed_out {
        return Outcome::Hung;
    }
    if run.signal.is_some() {
        return Outcome::Crashed;
    }
    if run.injected == 0 {
        return Outcome::NotInjected;
    }
    if held
        .iter()
        .any(|(k, n)| *n > clean_held.get(k).copied().unwrap_or(0))
    {
        return Outcome::Leaked;
    }
    if run.exit == clean.exit {
        if normalize(&run.stdout) == normalize(&clean.stdout) {
            Outcome::Recovered
        } else {
            Outcome::Diverged
        }
    } else if names_failure(&run.stderr, op, fault) || names_failure(&run.stdout, op, fault) {
        Outcome::Handled
    } else {
        Outcome::Unreported
    }
}

/// The keys held beyond the clean run's, with how many more.
pub fn extra(
    clean_held: &BTreeMap<LeakKey, u64>,
    held: &BTreeMap<LeakKey, u64>,
) -> BTreeMap<LeakKey, u64> {
    held.iter()
        .filter_map(|(k, n)| {
            let base = clean_held.get(k).copied().unwrap_or(0);
            (*n > base).then(|| (k.clone(), n - base))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_masked() {
        assert_eq!(
            normalize(b"ok; finished in 0.03s\n"),
            b"ok; finished in #s\n"
        );
        assert_eq!(normalize(b"v1.2s 12s 3.5"), b"v1.2s 12s 3.5");
    }

    #[test]
    fn failures_are_recognized_by_op_errno_or_message() {
        let enomem = Fault::Errno(12);
        assert!(names_failure(
            b"mmap: Cannot allocate memory",
            Op::Mmap,
            enomem
        ));
        assert!(names_failure(b"OSError: [Errno 12] oops", Op::Open, enomem));
        assert!(names_failure(
            b"Error: failed (os error 12)",
            Op::Open,
            enomem
        ));
        assert!(names_failure(b"pread failed", Op::Pread, Fault::Errno(5)));
        assert!(!names_failure(b"something went wrong", Op::Mmap, enomem));
        assert!(names_failure(
            b"unexpected EOF",
            Op::Read,
            Fault::ShortRead(None)
        ));
    }
}
