//! Every kind of loader error, as a user reads it. Call-site line numbers are redacted (they
//! move with every edit) but the file stays, so a diff still shows where an error comes from.

use std::path::Path;

use loadguard::data::{DataLoader as _, FileLoader, MemoryLoader, SegmentInfo, SegmentKind};
use loadguard::os::MemoryOs;
use loadguard::testing::{Fault, FaultOp, FaultPlan, FaultyOs};
use loadguard::{Alignment, SizeError};
use loadguard::{Error, LoadMode, LoadOptions, OsError, OsFailure, Registry};

fn settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"(\.rs):\d+:\d+", "$1:[line]:[col]");
    settings.add_filter(r"/tmp/\.tmp\w+", "[tmpdir]");
    settings
}

/// Each error as its `Display` and, when it has causes, the whole chain a log line shows.
fn render(errors: &[(&str, Error)]) -> String {
    errors
        .iter()
        .map(|(what, err)| {
            let chain = err.chain().to_string();
            if chain == err.to_string() {
                format!("{what}:\n  {err}\n")
            } else {
                format!("{what}:\n  {err}\n  chain: {chain}\n")
            }
        })
        .collect()
}

#[test]
fn os_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.bin");
    let open = Registry::new()
        .open(&missing, &LoadOptions::new())
        .unwrap_err();
    let with_args: Error = OsFailure::new("pread", "/models/a.bin", OsError::from_code(5))
        .arg("offset", 4096)
        .arg("len", 65536)
        .into();
    let mmap = Error::os("mmap", "/models/a.bin", OsError::from_code(12)).with_arg("len", 1 << 30);
    let no_code = Error::from_io("open", "/m", &std::io::ErrorKind::NotFound.into());
    let alloc = loadguard::AlignedBuf::zeroed(usize::MAX - 8, Alignment::DEFAULT, Path::new("/m"))
        .unwrap_err();
    settings().bind(|| {
        insta::assert_snapshot!(render(&[
            ("missing file", open),
            ("OS failure with named arguments", with_args),
            ("mmap out of memory", mmap),
            ("error without an OS code", no_code),
            ("allocation that cannot be made", alloc),
        ]));
    });
}

#[test]
fn range_size_and_option_errors() {
    let os = MemoryOs::new();
    os.write("/m/ten.bin", vec![0u8; 10]);
    let registry = Registry::with_os(os);
    let session = registry
        .open("/m/ten.bin", &LoadOptions::new().mode(LoadMode::Read))
        .unwrap();
    let out_of_range = session.segment(8, 4).unwrap_err();
    let overflow = session.segment(u64::MAX, 2).unwrap_err();
    let loader = MemoryLoader::new(vec![1u8; 3]);
    let memory = loader
        .load(2, 2, &SegmentInfo::new(SegmentKind::Constant, 0))
        .unwrap_err();
    let too_large = SizeError::TooLarge {
        what: "file size",
        value: 5 << 30,
        bits: 32,
    }
    .at("/m/big");
    let end = SizeError::Overflow {
        what: "end of range",
        a: u64::MAX,
        b: 1,
    }
    .at("/m/x");
    let align = Alignment::new(48).unwrap_err().at("/m/x");
    let truncated = Error::Truncated {
        path: "/m/t.bin".into(),
        offset: 100,
        file_size: 128,
    };
    let shrunk = Error::ShrunkUnderMapping {
        path: "/m/s.bin".into(),
        offset: 0,
        len: 1 << 20,
    };
    settings().bind(|| {
        insta::assert_snapshot!(render(&[
            ("segment past the end", out_of_range),
            ("segment whose end overflows", overflow),
            ("in-memory source", memory),
            ("file larger than a 32-bit address space", too_large),
            ("offset + len overflow", end),
            ("alignment not a power of two", align),
            ("file shrank while reading", truncated),
            ("file shorter than its mapping (prefault)", shrunk),
        ]));
    });
}

#[cfg(unix)]
#[test]
fn what_is_not_loaded_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.bin");
    std::fs::write(&path, [0u8; 64]).unwrap();
    let registry = Registry::new();
    let refused = registry
        .open(&path, &LoadOptions::new().mode(LoadMode::Map))
        .unwrap_err();
    let device = registry.open("/dev/null", &LoadOptions::new()).unwrap_err();
    let directory = registry.open(dir.path(), &LoadOptions::new()).unwrap_err();
    let stream = registry
        .open("/dev/zero", &LoadOptions::new().read_streams(4096))
        .unwrap_err();
    let copied = registry.open(&path, &LoadOptions::new()).unwrap();
    settings().bind(|| {
        insta::assert_snapshot!(format!(
            "{}load path of an ordinary file: {}\n",
            render(&[
                ("map mode without the promise", refused),
                ("a device", device),
                ("a directory", directory),
                ("an endless stream", stream),
            ]),
            copied.load_path()
        ));
    });
}

#[test]
fn read_fallback_is_explained() {
    let os = MemoryOs::new();
    os.write("/nfs/model.bin", vec![0u8; 32]);
    let plan = FaultPlan::new().every(FaultOp::Mmap, Fault::Errno(19));
    let session = Registry::with_os(FaultyOs::new(os, plan))
        .open("/nfs/model.bin", &LoadOptions::new())
        .unwrap();
    let loader =
        FileLoader::open_with(&MemoryOs::new(), "/absent", Alignment::DEFAULT).unwrap_err();
    settings().bind(|| {
        insta::assert_snapshot!(format!(
            "load path: {}\nfile loader on a missing file: {}\n",
            session.load_path(),
            loader.chain()
        ));
    });
    assert_eq!(session.load_path().name(), "read");
}
