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
    /// Open `NAMES[name % 4]` in mode `mode % 3`.
    Open { name: u8, mode: u8 },
    /// Drop session `session % live`.
    Drop { session: u8 },
    /// Clone session `session % live`.
    Clone { session: u8 },
    /// Cut `[offset, offset + len)` from a session (valid or not) and check it.
    Segment { session: u8, offset: u16, len: u16 },
    /// Replace a name with a new file of `len` bytes (like a rename over it).
    Replace { name: u8, len: u8 },
    /// Change a file in place: same identity, new contents and modification time.
    Modify { name: u8, len: u8 },
    /// Make a later call of an operation fail.
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
    /// (file id, version, mode): sessions share a load exactly when these are equal and their
    /// lifetimes overlapped an existing load.
    share_key: (u32, u32, LoadMode),
}

/// Contents that differ between files and versions, so a session seeing the wrong one shows.
fn contents(id: u32, version: u32, len: u8) -> Vec<u8> {
    let seed = u64::from(id) * 31 + u64::from(version) * 7;
    (0..u64::from(len))
        .map(|i| ((i + seed) % 251).to_le_bytes()[0])
        .collect()
}

/// Decodes `data` into steps and runs them; `Err` describes the first disagreement.
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
pub fn run(steps: &[Step]) -> Result<(), String> {
    let fs = std::sync::Arc::new(MemoryOs::new());
    let mut files: HashMap<&str, ModelFile> = HashMap::new();
    let mut next_id = 0u32;
    for name in &NAMES[..3] {
        next_id += 1;
        let file = ModelFile {
            id: next_id,
            version: 0,
            bytes: contents(next_id, 0, 40),
        };
        fs.write(*name, file.bytes.clone());
        files.insert(name, file);
    }
    fs.link(std::path::Path::new("/f0"), "/link0");
    files.insert("/link0", files["/f0"].clone());

    let ledger = Ledger::new();
    let plan = FaultPlan::new();
    let registry =
        Registry::with_os(ledger.track(FaultyOs::new(SharedFs(fs.clone()), plan.clone())));
    let mut sessions: Vec<ModelSession> = Vec::new();

    for (i, step) in steps.iter().enumerate() {
        let at = |msg: String| format!("step {i} {step:?}: {msg}");
        match *step {
            Step::Open { name, mode } => {
                let name = NAMES[usize::from(name) % NAMES.len()];
                let mode = [LoadMode::Auto, LoadMode::Map, LoadMode::Read][usize::from(mode) % 3];
                let injected_before = plan.injected();
                let live_before = registry.live_files();
                match registry.open(name, &LoadOptions::new().mode(mode)) {
                    Ok(real) => {
                        let file = &files[name];
                        if real.bytes() != file.bytes.as_slice() {
                            return Err(at("session bytes differ from the file".into()));
                        }
                        // A new load (one not shared with a live session) that fell back to
                        // reading must have met an injected mapping failure.
                        let new_load = !sessions.iter().any(|s| s.real.shares_with(&real));
                        let fell_back = real.load_path().name() == "read" && mode != LoadMode::Read;
                        if new_load && fell_back && plan.injected() == injected_before {
                            return Err(at("fell back to read without a mapping failure".into()));
                        }
                        let share_key = (file.id, file.version, mode);
                        for other in &sessions {
                            let must_share = other.share_key == share_key;
                            if must_share != real.shares_with(&other.real) {
                                return Err(at(format!(
                                    "sharing with {:?} is {}",
                                    other.share_key, !must_share
                                )));
                            }
                        }
                        sessions.push(ModelSession {
                            real,
                            bytes: file.bytes.clone(),
                            share_key,
                        });
                    }
                    Err(err) => {
                        if plan.injected() == injected_before {
                            return Err(at(format!("failed with no fault injected: {err}")));
                        }
                        if !matches!(&err, Error::Os(f) if ["open", "mmap", "pread"].contains(&f.op))
                            && !matches!(err, Error::Truncated { .. })
                        {
                            return Err(at(format!("unexpected error kind: {err}")));
                        }
                        if registry.live_files() != live_before {
                            return Err(at("a failed open changed the live files".into()));
                        }
                    }
                }
            }
            Step::Drop { session } if !sessions.is_empty() => {
                sessions.remove(usize::from(session) % sessions.len());
            }
            Step::Clone { session } if !sessions.is_empty() => {
                let s = &sessions[usize::from(session) % sessions.len()];
                let clone = ModelSession {
                    real: s.real.clone(),
                    bytes: s.bytes.clone(),
                    share_key: s.share_key,
                };
                if !clone.real.shares_with(&s.real) {
                    return Err(at("a clone does not share".into()));
                }
                sessions.push(clone);
            }
            Step::Segment {
                session,
                offset,
                len,
            } if !sessions.is_empty() => {
                let s = &sessions[usize::from(session) % sessions.len()];
                let (offset, len) = (usize::from(offset % 64), usize::from(len % 64));
                let result = s.real.segment(to_u64(offset), to_u64(len));
                match (result, s.bytes.get(offset..offset + len)) {
                    (Ok(seg), Some(expected)) if &*seg == expected => {}
                    (Err(Error::OutOfRange { .. }), None) => {}
                    (got, expected) => {
                        return Err(at(format!(
                            "segment {offset}+{len}: {got:?} vs {expected:?}"
                        )));
                    }
                }
            }
            Step::Replace { name, len } => {
                let name = NAMES[usize::from(name) % NAMES.len()];
                next_id += 1;
                let file = ModelFile {
                    id: next_id,
                    version: 0,
                    bytes: contents(next_id, 0, len),
                };
                fs.write(name, file.bytes.clone());
                files.insert(name, file);
            }
            Step::Modify { name, len } => {
                let name = NAMES[usize::from(name) % NAMES.len()];
                let id = files[name].id;
                let version = files[name].version + 1;
                let bytes = contents(id, version, len);
                fs.modify(std::path::Path::new(name), bytes.clone());
                for file in files.values_mut().filter(|f| f.id == id) {
                    file.version = version;
                    file.bytes = bytes.clone();
                }
            }
            Step::Fault { op, later, kind } => {
                let op = [FaultOp::Open, FaultOp::Mmap, FaultOp::Pread][usize::from(op) % 3];
                let fault = [
                    Fault::Errno(5),
                    Fault::Errno(12),
                    Fault::Interrupted,
                    Fault::ShortRead(3),
                ][usize::from(kind) % 4];
                let _ = plan
                    .clone()
                    .nth(op, plan.calls(op) + 1 + usize::from(later % 4), fault);
            }
            Step::Drop { .. } | Step::Clone { .. } | Step::Segment { .. } => {}
        }
        check_invariants(&registry, &ledger, &sessions).map_err(at)?;
    }
    drop(sessions);
    if registry.live_files() != 0 {
        return Err("entries outlived their sessions".into());
    }
    ledger.check_balanced().map_err(|leaks| leaks.to_string())
}

fn check_invariants(
    registry: &Registry,
    ledger: &Ledger,
    sessions: &[ModelSession],
) -> Result<(), String> {
    if ledger.live(ResourceKind::FileHandle) != 0 {
        return Err("a file handle outlived its open".into());
    }
    let live_keys: HashSet<_> = sessions.iter().map(|s| s.share_key).collect();
    if registry.live_files() != live_keys.len() {
        return Err(format!(
            "{} live files, model has {}",
            registry.live_files(),
            live_keys.len()
        ));
    }
    // One mapping per live mapped load: count distinct loads by pointer identity.
    let mut mapped: Vec<&Session> = Vec::new();
    for s in sessions
        .iter()
        .filter(|s| s.real.load_path().name() == "map")
    {
        if !mapped.iter().any(|m| m.shares_with(&s.real)) {
            mapped.push(&s.real);
        }
    }
    if ledger.live(ResourceKind::Mapping) != mapped.len() {
        return Err(format!(
            "{} live mappings, {} mapped loads",
            ledger.live(ResourceKind::Mapping),
            mapped.len()
        ));
    }
    for s in sessions {
        if s.real.bytes() != s.bytes.as_slice() {
            return Err("a session's bytes changed under it".into());
        }
    }
    Ok(())
}

/// Lets the model keep writing to the in-memory file system the registry reads.
struct SharedFs(std::sync::Arc<MemoryOs>);

impl crate::os::Os for SharedFs {
    fn open(&self, path: &std::path::Path) -> crate::Result<Box<dyn crate::os::OsFile>> {
        self.0.open(path)
    }

    fn lock(&self, bytes: &[u8]) -> std::io::Result<()> {
        self.0.lock(bytes)
    }

    fn unlock(&self, bytes: &[u8]) -> std::io::Result<()> {
        self.0.unlock(bytes)
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
