//! The report the preload writes for each process (at exit, before `exec`, or when the
//! process asks), and its parser.
//!
//! Line-oriented text so the preload can write it without allocating, from a fixed buffer:
//!
//! ```text
//! LGPRELOAD 1
//! pid 4242 4241
//! event exit
//! exe /usr/bin/python3.11
//! calls open=12 mmap=3 …
//! dropped 0
//! seq 18
//! module 0 0x55d0c0de0000 /usr/bin/python3.11
//! injected mmap 2 errno:12 0.1a2b,3.44f0
//! acquired fd open 3 /models/tiny.gguf
//! live 17 mapping mmap 0x7f00dead0000 4096 0 1 /models/tiny.gguf 0.1a2b,3.44f0
//! end
//! ```
//!
//! Text fields are percent-escaped (every byte that is not printable ASCII other than `%` and
//! space). A frame is `MODULE.ADDRESS`: the index of a `module` line and the address relative
//! to that module's load bias (what its debug info calls the address), both in hex; `?` for
//! the module when the address lies in none, then the address is absolute. `-` is an empty
//! frame list. A report without its `end` line was cut short (the process died while writing).

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::op::Op;
use crate::plan::{Fault, parse_fault};

/// The first line of every report.
pub const MAGIC: &str = "LGPRELOAD 1";

/// The kind of a live resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Kind {
    /// A file descriptor (a file, a memfd, a dma-buf, a `FILE*`'s descriptor).
    Fd,
    /// A file-backed (or shared) mapping.
    Mapping,
    /// A locked range.
    Lock,
    /// A `dlopen` reference.
    Library,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 4] = [Kind::Fd, Kind::Mapping, Kind::Lock, Kind::Library];

    /// The name reports use.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Kind::Fd => "fd",
            Kind::Mapping => "mapping",
            Kind::Lock => "lock",
            Kind::Library => "library",
        }
    }

    /// The kind called `name`.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// Why the report was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The process exited normally (`exit`, return from `main`).
    Exit,
    /// The process was about to `exec` another program: mappings end there, descriptors
    /// without close-on-exec live on in the new program.
    Exec,
    /// The process asked for its own ledger.
    Request,
}

/// One stack frame of an acquire or injection backtrace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Frame {
    /// Index into [`Report::modules`], none when the address lay in no loaded module.
    pub module: Option<usize>,
    /// The address relative to the module's load bias (absolute when `module` is none).
    pub addr: u64,
}

/// A resource the process still held when the report was written.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Resource {
    /// Acquisition number within the process (increasing).
    pub seq: u64,
    /// What kind of resource.
    pub kind: Kind,
    /// The call that acquired it (`open`, `fopen`, `mmap`, `dlopen`, …).
    pub via: String,
    /// The descriptor number, mapping address or library handle.
    pub id: u64,
    /// Its length in bytes (mappings, locks, dma-bufs), 0 when none.
    pub len: u64,
    /// For a descriptor: whether it closes on `exec`.
    pub cloexec: bool,
    /// Whether it is in the scope of `--only` (always, without `--only`): its path matched,
    /// or it was made from something whose path did.
    pub in_scope: bool,
    /// What it is: a path, a memfd's name, a library.
    pub what: String,
    /// The acquire backtrace, innermost first.
    pub frames: Vec<Frame>,
}

/// A fault the preload injected.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Injection {
    /// The op.
    pub op: Op,
    /// Its call number (counted across the process tree when a counter file is shared).
    pub nth: u64,
    /// The fault.
    pub fault: Fault,
    /// Where the failing call was made.
    pub frames: Vec<Frame>,
}

/// How often one kind of resource was acquired from one thing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Acquired {
    /// Kind.
    pub kind: Kind,
    /// The acquiring call.
    pub via: String,
    /// How many times.
    pub count: u64,
    /// The path / name / library (`(other)` once the table of distinct ones is full).
    pub what: String,
}

/// One process's report.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// Process id.
    pub pid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// Why it was written.
    pub event: Event,
    /// The program.
    pub exe: String,
    /// Calls per op seen by this process (only those matching `--only`, when given).
    pub calls: BTreeMap<Op, u64>,
    /// Resources the ledger had no room for (its tables are fixed-size).
    pub dropped: u64,
    /// The sequence number the next acquisition will get ([`Resource::seq`] is below it for
    /// everything acquired before the report).
    pub next_seq: u64,
    /// Loaded modules frames refer to.
    pub modules: Vec<PathBuf>,
    /// Faults injected into this process.
    pub injected: Vec<Injection>,
    /// What it acquired, by kind, call and thing.
    pub acquired: Vec<Acquired>,
    /// What it still held.
    pub live: Vec<Resource>,
    /// Whether the report ended with its `end` line.
    pub complete: bool,
    /// The ledger's lock could not be had when the report was written (a thread stopped
    /// mid-update at exit): calls are counted, but nothing held is listed.
    pub ledger_busy: bool,
}

/// What is wrong with a report's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// The first line is not [`MAGIC`].
    #[error("not a loadguard-preload report (first line is not `{MAGIC}`)")]
    NotAReport,
    /// A line could not be read.
    #[error("line {line}: malformed `{keyword}` line")]
    BadLine {
        /// 1-based line number.
        line: usize,
        /// Its first word.
        keyword: String,
    },
}

impl Report {
    /// Parses a report. Unknown line keywords are skipped (newer preloads may add lines).
    ///
    /// # Errors
    /// [`ReportError`] naming the first malformed line.
    pub fn parse(text: &str) -> Result<Report, ReportError> {
        let mut lines = text.lines();
        if lines.next() != Some(MAGIC) {
            return Err(ReportError::NotAReport);
        }
        let mut report = Report {
            pid: 0,
            ppid: 0,
            event: Event::Exit,
            exe: String::new(),
            calls: BTreeMap::new(),
            dropped: 0,
            next_seq: 0,
            modules: Vec::new(),
            injected: Vec::new(),
            acquired: Vec::new(),
            live: Vec::new(),
            complete: false,
            ledger_busy: false,
        };
        for (i, line) in lines.enumerate() {
            let mut words = line.split(' ');
            let keyword = words.next().unwrap_or_default();
            let bad = || ReportError::BadLine {
                line: i + 2,
                keyword: keyword.to_owned(),
            };
            let words: Vec<&str> = words.collect();
            report.read_line(keyword, &words).ok_or_else(bad)?;
        }
        Ok(report)
    }

    fn read_line(&mut self, keyword: &str, w: &[&str]) -> Option<()> {
        match keyword {
            "pid" => {
                self.pid = w.first()?.parse().ok()?;
                self.ppid = w.get(1)?.parse().ok()?;
            }
            "event" => {
                self.event = match *w.first()? {
                    "exit" => Event::Exit,
                    "exec" => Event::Exec,
                    "request" => Event::Request,
                    _ => return None,
                }
            }
            "exe" => self.exe = unescape(w.first()?),
            "calls" => {
                for pair in w.iter().filter(|p| !p.is_empty()) {
                    let (op, n) = pair.split_once('=')?;
                    if let Some(op) = Op::from_name(op) {
                        self.calls.insert(op, n.parse().ok()?);
                    }
                }
            }
            "dropped" => self.dropped = w.first()?.parse().ok()?,
            "seq" => self.next_seq = w.first()?.parse().ok()?,
            "module" => {
                let idx: usize = w.first()?.parse().ok()?;
                if idx != self.modules.len() {
                    return None;
                }
                self.modules.push(PathBuf::from(unescape(w.get(2)?)));
            }
            "injected" => self.injected.push(Injection {
                op: Op::from_name(w.first()?)?,
                nth: w.get(1)?.parse().ok()?,
                fault: parse_fault(w.get(2)?).ok()?,
                frames: parse_frames(w.get(3)?)?,
            }),
            "acquired" => self.acquired.push(Acquired {
                kind: Kind::from_name(w.first()?)?,
                via: (*w.get(1)?).to_owned(),
                count: w.get(2)?.parse().ok()?,
                what: unescape(w.get(3)?),
            }),
            "live" => self.live.push(Resource {
                seq: w.first()?.parse().ok()?,
                kind: Kind::from_name(w.get(1)?)?,
                via: (*w.get(2)?).to_owned(),
                id: parse_hex_or_dec(w.get(3)?)?,
                len: w.get(4)?.parse().ok()?,
                cloexec: *w.get(5)? == "1",
                in_scope: *w.get(6)? == "1",
                what: unescape(w.get(7)?),
                frames: parse_frames(w.get(8)?)?,
            }),
            "busy" => self.ledger_busy = true,
            "end" => self.complete = true,
            _ => {}
        }
        Some(())
    }
}

fn parse_hex_or_dec(s: &str) -> Option<u64> {
    match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

fn parse_frames(s: &str) -> Option<Vec<Frame>> {
    if s == "-" {
        return Some(Vec::new());
    }
    s.split(',')
        .map(|f| {
            let (module, addr) = f.split_once('.')?;
            let module = match module {
                "?" => None,
                m => Some(usize::from_str_radix(m, 16).ok()?),
            };
            Some(Frame {
                module,
                addr: u64::from_str_radix(addr, 16).ok()?,
            })
        })
        .collect()
}

/// Whether `b` is written as itself in a report's text field.
#[must_use]
pub fn is_plain(b: u8) -> bool {
    b > b' ' && b < 0x7f && b != b'%'
}

/// Writes `bytes` percent-escaped through `out` (no allocation; the preload's writer uses it).
pub fn escape_into(bytes: &[u8], out: &mut impl FnMut(&[u8])) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    if bytes.is_empty() {
        out(b"%00");
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if !is_plain(b) {
            out(bytes.get(start..i).unwrap_or_default());
            out(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
            start = i + 1;
        }
    }
    out(bytes.get(start..).unwrap_or_default());
}

/// Undoes [`escape_into`] (invalid UTF-8 becomes U+FFFD; `%00` alone is the empty string).
#[must_use]
pub fn unescape(s: &str) -> String {
    if s == "%00" {
        return String::new();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(bytes: &[u8]) -> String {
        let mut s = Vec::new();
        escape_into(bytes, &mut |part| s.extend_from_slice(part));
        String::from_utf8(s).unwrap()
    }

    #[test]
    fn escaping_round_trips() {
        for path in ["/a b/c%d\n", "", "plain", "é"] {
            let e = escaped(path.as_bytes());
            assert!(e.bytes().all(|b| b.is_ascii_graphic()), "{e}");
            assert_eq!(unescape(&e), path);
        }
    }

    #[test]
    fn parses_every_line_kind() {
        let text = "LGPRELOAD 1\npid 7 6\nevent exec\nexe /bin/x%20y\ncalls open=2 mmap=1 future=3\n\
                    dropped 1\nmodule 0 0x1000 /bin/x\ninjected mmap 1 errno:12 0.10,?.7f00\n\
                    acquired fd open 2 /m\nlive 3 mapping mmap 0x7f00 4096 0 1 /m 0.20\nnewkind x\nend\n";
        let r = Report::parse(text).unwrap();
        assert_eq!((r.pid, r.ppid, r.event), (7, 6, Event::Exec));
        assert_eq!(r.exe, "/bin/x y");
        assert_eq!(r.calls[&Op::Open], 2);
        assert_eq!(r.dropped, 1);
        assert_eq!(r.modules, vec![PathBuf::from("/bin/x")]);
        assert_eq!(r.injected[0].fault, Fault::Errno(12));
        assert_eq!(
            r.injected[0].frames[1],
            Frame {
                module: None,
                addr: 0x7f00
            }
        );
        assert_eq!(r.acquired[0].count, 2);
        assert_eq!(r.live[0].id, 0x7f00);
        assert!(r.live[0].in_scope && !r.live[0].cloexec);
        assert_eq!(
            r.live[0].frames,
            vec![Frame {
                module: Some(0),
                addr: 0x20
            }]
        );
        assert!(r.complete);
    }

    #[test]
    fn malformed_lines_are_named() {
        assert_eq!(Report::parse("hello"), Err(ReportError::NotAReport));
        let err = Report::parse("LGPRELOAD 1\npid x 1\n").unwrap_err();
        assert_eq!(err.to_string(), "line 2: malformed `pid` line");
        assert!(!Report::parse("LGPRELOAD 1\n").unwrap().complete);
        let busy = Report::parse("LGPRELOAD 1\ncalls open=1\nbusy 1\nend\n").unwrap();
        assert!(busy.ledger_busy && busy.complete && busy.live.is_empty());
    }
}
