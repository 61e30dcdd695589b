//! A model-based check of the registry: a sequence of operations — opening files (some
//! changed between steps, one reachable by two names), cutting segments, cloning and dropping
//! sessions, injecting faults — is applied to a real [`Registry`] and to a simple reference
//! model, and after every step the two must agree on what each session sees, which sessions
//! share a load, how many files are live, and (through the [`Ledger`]) which OS resources are
//! held.
//!
//! The fuzz target `registry_model` feeds it arbitrary bytes; `loader/tests/fuzz_regressions.rs`
//! replays the committed corpus and every minimized crash through the same function.

use std::collections::{HashMap, HashSet};

use arbitrary::{Arbitrary, Unstructured};

use super::{Fault, FaultOp, FaultPlan, FaultyOs, Ledger, ResourceKind};
use crate::os::MemoryOs;
use crate::size::to_u64;
use crate::{Error, LoadMode, LoadOptions, Registry, Session};

const NAMES: [&str; 4] = ["/f0", "/f1", "/f2", "/link0"];
const MAX_STEPS: usize = 64;

/// One operation of a model run.
#[derive(Debug, Clone, Arbitrary)]
pub enum Step {
    /// Open `NAMES[name % 4]` the `mode % 4`-th way of `OPENS`.
    #[allow(missing_docs)]
    Open { name: u8, mode: u8 },
    /// Drop session `session % live`.
    #[allow(missing_docs)]
    Drop { session: u8 },
    /// Clone session `session % live`.
    #[allow(missing_docs)]
    Clone { session: u8 },
    /// Cut `[offset % 64, offset % 64 + len % 64)` from a session (valid or not) and check it.
    #[allow(missing_docs)]
    Segment { session: u8, offset: u16, len: u16 },
    /// Replace a name with a new file of `len` bytes (like a rename over it).
    #[allow(missing_docs)]
    Replace { name: u8, len: u8 },
    /// Change a file in place: same identity, new contents and modification time.
    #[allow(missing_docs)]
    Modify { name: u8, len: u8 },
    /// Make the `later % 4`-th next call of operation `op` fail with fault `kind`.
    #[allow(missing_docs)]
    Fault { op: u8, later: u8, kind: u8 },
}

#[derive(Clone)]
struct ModelFile {
    id: u32,
    version: u32,
    bytes: Vec<u8>,
}

struct ModelSession {
    real: Session,
    /// What the session must see: the file's bytes when it was opened.
    bytes: Vec<u8>,
    /// (file id, version, mode, assumed immutable): sessions share a load exactly when these
    /// are equal and their lifetimes overlapped an existing load.
    share_key: (u32, u32, LoadMode, bool),
}

/// Contents that differ between files and versions, so a session seeing the wrong one shows.
fn contents(id: u32, version: u32, len: u8) -> Vec<u8> {
    let seed = u64::from(id) * 31 + u64::from(version) * 7;
    (0..u64::from(len))
        .map(|i| ((i + seed) % 251).to_le_bytes()[0])
        .collect()
}

/// Decodes `data` into steps and runs them.
///
/// # Errors
///
/// The first disagreement between the registry and the model, naming the step.
pub fn check_registry(data: &[u8]) -> Result<(), String> {
    let mut u = Unstructured::new(data);
    let mut steps = Vec::new();
    while steps.len() < MAX_STEPS && !u.is_empty() {
        match Step::arbitrary(&mut u) {
            Ok(step) => steps.push(step),
            Err(_) => break,
        }
    }
    run(&steps)
}

/// Runs `steps` against a registry over an in-memory OS and the reference model.
///
/// # Errors
///
/// The first disagreement between the registry and the model, naming the step.
pub fn run(steps: &[Step]) -> Result<(), String> {
    let mut model = Model::new();
    for (i, step) in steps.iter().enumerate() {
        model
            .step(step)
            .and_then(|()| model.check())
            .map_err(|msg| format!("step {i} {step:?}: {msg}"))?;
    }
    model.finish()
}

/// The registry under test, the reference state it must agree with, and the harness around it.
struct Model {
    fs: std::sync::Arc<MemoryOs>,
    files: HashMap<&'static str, ModelFile>,
    next_id: u32,
    ledger: Ledger,
    plan: FaultPlan,
    registry: Registry,
    sessions: Vec<ModelSession>,
}

/// The ways a step opens a file: the three modes, and Auto with the caller's promise.
const OPENS: [(LoadMode, bool); 4] = [
    (LoadMode::Auto, false),
    (LoadMode::Map, false),
    (LoadMode::Read, false),
    (LoadMode::Auto, true),
];

impl Model {
    fn new() -> Self {
        let fs = std::sync::Arc::new(MemoryOs::new());
        let mut files = HashMap::new();
        let mut next_id = 0u32;
        for name in &NAMES[..3] {
            next_id += 1;
            let file = ModelFile {
                id: next_id,
                version: 0,
                bytes: contents(next_id, 0, 40),
            };
            fs.write(*name, file.bytes.clone());
            files.insert(*name, file);
        }
        fs.link(std::path::Path::new("/f0"), "/link0");
        files.insert("/link0", files["/f0"].clone());
        let ledger = Ledger::new();
        let plan = FaultPlan::new();
        let registry = Registry::with_os(ledger.track(FaultyOs::new(fs.clone(), plan.clone())));
        Self {
            fs,
            files,
            next_id,
            ledger,
            plan,
            registry,
            sessions: Vec::new(),
        }
    }

    fn step(&mut self, step: &Step) -> Result<(), String> {
        match *step {
            Step::Open { name, mode } => self.open(name, mode),
            Step::Drop { session } => {
                if let Some(i) = self.pick(session) {
                    self.sessions.remove(i);
                }
                Ok(())
            }
            Step::Clone { session } => self.clone_session(session),
            Step::Segment {
                session,
                offset,
                len,
            } => self.segment(session, offset, len),
            Step::Replace { name, len } => {
                self.replace(name, len);
                Ok(())
            }
            Step::Modify { name, len } => {
                self.modify(name, len);
                Ok(())
            }
            Step::Fault { op, later, kind } => {
                self.fault(op, later, kind);
                Ok(())
            }
        }
    }

    fn pick(&self, session: u8) -> Option<usize> {
        (!self.sessions.is_empty()).then(|| usize::from(session) % self.sessions.len())
    }

    fn open(&mut self, name: u8, how: u8) -> Result<(), String> {
        let name = NAMES[usize::from(name) % NAMES.len()];
        let (mode, assumed) = OPENS[usize::from(how) % OPENS.len()];
        let mut opts = LoadOptions::new().mode(mode);
        if assumed {
            // SAFETY: every file of the in-memory OS is an immutable snapshot (`MemoryOs`
            // never writes a file's bytes in place), so nobody can change the mapped bytes.
            opts = unsafe { opts.assume_immutable() };
        }
        let injected_before = self.plan.injected();
        let live_before = self.registry.live_files();
        let real = match self.registry.open(name, &opts) {
            Ok(real) => real,
            Err(err) => {
                if self.plan.injected() == injected_before {
                    return Err(format!("failed with no fault injected: {err}"));
                }
                let os_op =
                    matches!(&err, Error::Os(f) if ["open", "mmap", "pread"].contains(&f.op));
                if !os_op && !matches!(err, Error::Truncated { .. }) {
                    return Err(format!("unexpected error kind: {err}"));
                }
                if self.registry.live_files() != live_before {
                    return Err("a failed open changed the live files".into());
                }
                return Ok(());
            }
        };
        let file = &self.files[name];
        if real.bytes() != file.bytes.as_slice() {
            return Err("session bytes differ from the file".into());
        }
        // A new load (one not shared with a live session) that fell back to reading must have
        // met an injected mapping failure: every in-memory file is safe to map.
        let new_load = !self.sessions.iter().any(|s| s.real.shares_with(&real));
        let fell_back = real.load_path().name() == "read" && mode != LoadMode::Read;
        if new_load && fell_back && self.plan.injected() == injected_before {
            return Err("fell back to read without a mapping failure".into());
        }
        let share_key = (file.id, file.version, mode, assumed);
        for other in &self.sessions {
            let must_share = other.share_key == share_key;
            if must_share != real.shares_with(&other.real) {
                return Err(format!(
                    "sharing with {:?} is {}",
                    other.share_key, !must_share
                ));
            }
        }
        self.sessions.push(ModelSession {
            real,
            bytes: file.bytes.clone(),
            share_key,
        });
        Ok(())
    }

    fn clone_session(&mut self, session: u8) -> Result<(), String> {
        let Some(i) = self.pick(session) else {
            return Ok(());
        };
        let s = &self.sessions[i];
        let clone = ModelSession {
            real: s.real.clone(),
            bytes: s.bytes.clone(),
            share_key: s.share_key,
        };
        if !clone.real.shares_with(&s.real) {
            return Err("a clone does not share".into());
        }
        self.sessions.push(clone);
        Ok(())
    }

    fn segment(&self, session: u8, offset: u16, len: u16) -> Result<(), String> {
        let Some(i) = self.pick(session) else {
            return Ok(());
        };
        let s = &self.sessions[i];
        let (offset, len) = (usize::from(offset % 64), usize::from(len % 64));
        let result = s.real.segment(to_u64(offset), to_u64(len));
        match (result, s.bytes.get(offset..offset + len)) {
            (Ok(seg), Some(expected)) if &*seg == expected => Ok(()),
            (Err(Error::OutOfRange { .. }), None) => Ok(()),
            (got, expected) => Err(format!("segment {offset}+{len}: {got:?} vs {expected:?}")),
        }
    }

    /// Replaces a name with a new file (like a rename over it).
    fn replace(&mut self, name: u8, len: u8) {
        let name = NAMES[usize::from(name) % NAMES.len()];
        self.next_id += 1;
        let file = ModelFile {
            id: self.next_id,
            version: 0,
            bytes: contents(self.next_id, 0, len),
        };
        self.fs.write(name, file.bytes.clone());
        self.files.insert(name, file);
    }

    /// Changes a file in place: every name of it sees the new version.
    fn modify(&mut self, name: u8, len: u8) {
        let name = NAMES[usize::from(name) % NAMES.len()];
        let id = self.files[name].id;
        let version = self.files[name].version + 1;
        let bytes = contents(id, version, len);
        self.fs.modify(std::path::Path::new(name), bytes.clone());
        for file in self.files.values_mut().filter(|f| f.id == id) {
            file.version = version;
            file.bytes = bytes.clone();
        }
    }

    /// Makes a later call of an operation fail.
    fn fault(&mut self, op: u8, later: u8, kind: u8) {
        let ops = [FaultOp::Open, FaultOp::Mmap, FaultOp::Pread, FaultOp::Stat];
        let op = ops[usize::from(op) % ops.len()];
        let fault = [
            Fault::Errno(5),
            Fault::Errno(12),
            Fault::Interrupted,
            Fault::ShortRead(3),
        ][usize::from(kind) % 4];
        let nth = self.plan.calls(op) + 1 + usize::from(later % 4);
        let _ = self.plan.clone().nth(op, nth, fault);
    }

    /// What must hold after every step.
    fn check(&self) -> Result<(), String> {
        let live_keys: HashSet<_> = self.sessions.iter().map(|s| s.share_key).collect();
        if self.registry.live_files() != live_keys.len() {
            return Err(format!(
                "{} live files, model has {}",
                self.registry.live_files(),
                live_keys.len()
            ));
        }
        // One mapping per live mapped load, and no handle left open: count distinct loads by
        // identity. (In-memory files never reuse identities, so copies need no pin.)
        let mut loads: Vec<&Session> = Vec::new();
        for s in &self.sessions {
            if !loads.iter().any(|m| m.shares_with(&s.real)) {
                loads.push(&s.real);
            }
        }
        let mapped = loads.iter().filter(|s| s.load_path().is_mapped()).count();
        let handles = self.ledger.live(ResourceKind::FileHandle);
        if handles != 0 {
            return Err(format!("{handles} file handles outlived their open"));
        }
        let mappings = self.ledger.live(ResourceKind::Mapping);
        if mappings != mapped {
            return Err(format!("{mappings} live mappings, {mapped} mapped loads"));
        }
        for s in &self.sessions {
            if s.real.bytes() != s.bytes.as_slice() {
                return Err("a session's bytes changed under it".into());
            }
        }
        Ok(())
    }

    fn finish(mut self) -> Result<(), String> {
        self.sessions.clear();
        if self.registry.live_files() != 0 {
            return Err("entries outlived their sessions".into());
        }
        self.ledger
            .check_balanced()
            .map_err(|leaks| leaks.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scripted_run_agrees_with_the_model() {
        let steps = [
            Step::Open { name: 0, mode: 0 },
            Step::Open { name: 3, mode: 0 },
            Step::Open { name: 0, mode: 2 },
            Step::Segment {
                session: 0,
                offset: 5,
                len: 10,
            },
            Step::Segment {
                session: 1,
                offset: 39,
                len: 2,
            },
            Step::Replace { name: 0, len: 9 },
            Step::Open { name: 0, mode: 0 },
            Step::Modify { name: 3, len: 50 },
            Step::Open { name: 3, mode: 1 },
            Step::Fault {
                op: 1,
                later: 0,
                kind: 1,
            },
            Step::Open { name: 1, mode: 0 },
            Step::Fault {
                op: 2,
                later: 0,
                kind: 0,
            },
            Step::Open { name: 2, mode: 2 },
            Step::Clone { session: 1 },
            Step::Drop { session: 0 },
            Step::Drop { session: 0 },
        ];
        run(&steps).unwrap();
    }

    #[test]
    fn arbitrary_bytes_never_disagree() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        // Miri interprets every step of every run; a few runs still cover the decoder and
        // every step kind there, while native runs take the full 200.
        let runs = if cfg!(miri) { 4 } else { 200 };
        for _ in 0..runs {
            let data: Vec<u8> = (0..256)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed.to_le_bytes()[0]
                })
                .collect();
            check_registry(&data).unwrap();
        }
    }
}
