//! Turning a report's frames (module + address) into functions and `file:line`s, from the
//! modules' DWARF debug info (addr2line), with the symbol table as the fallback for modules
//! built without it. Each module is read once per [`Symbolizer`].

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use object::{Object, ObjectSection, ObjectSymbol};

use crate::report::{Frame, Report};

type Reader = gimli::EndianRcSlice<gimli::RunTimeEndian>;

/// One symbolized frame.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Location {
    /// The module the address lies in (none when it lay in no loaded module).
    pub module: Option<PathBuf>,
    /// The address relative to the module's load bias.
    pub addr: u64,
    /// The function (demangled), from debug info or the symbol table.
    pub function: Option<String>,
    /// The source file, from debug info.
    pub file: Option<String>,
    /// The line, from debug info.
    pub line: Option<u32>,
}

impl Location {
    /// `file:line`, when debug info gave both.
    #[must_use]
    pub fn file_line(&self) -> Option<String> {
        Some(format!("{}:{}", self.file.as_ref()?, self.line?))
    }

    /// `file:line` when known, else `module+0xADDR`.
    #[must_use]
    pub fn short(&self) -> String {
        self.file_line().unwrap_or_else(|| {
            let module = self
                .module
                .as_ref()
                .and_then(|m| m.file_name())
                .map_or(Cow::Borrowed("?"), |n| n.to_string_lossy());
            format!("{module}+{:#x}", self.addr)
        })
    }

    /// Whether the frame lies in the preload, the C library, the dynamic loader, the Rust or
    /// C++ runtime, or a third-party crate from the cargo registry: not the traced program's
    /// own code.
    #[must_use]
    pub fn is_runtime(&self) -> bool {
        const RUNTIME_LIBS: [&str; 9] = [
            "libloadguard_preload",
            "libc.so",
            "libc-",
            "ld-linux",
            "libgcc_s",
            "libstdc++",
            "libpthread",
            "libdl.so",
            "libm.so",
        ];
        let module_name = self
            .module
            .as_ref()
            .and_then(|m| m.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if RUNTIME_LIBS.iter().any(|lib| module_name.starts_with(lib)) {
            return true;
        }
        let file = self.file.as_deref().unwrap_or_default();
        const RUNTIME_SOURCES: [&str; 5] = [
            "/rustc/",
            "/.cargo/registry/",
            "/.cargo/git/",
            "/library/std/",
            "/library/core/",
        ];
        RUNTIME_SOURCES.iter().any(|dir| file.contains(dir))
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.function {
            Some(function) => write!(f, "{function} at {}", self.short()),
            None => f.write_str(&self.short()),
        }
    }
}

struct Module {
    dwarf: Option<addr2line::Context<Reader>>,
    /// (start, name) sorted by start, for modules without debug info.
    symbols: Vec<(u64, String)>,
}

/// Symbolizes frames; caches each module's debug info.
#[derive(Default)]
pub struct Symbolizer {
    modules: HashMap<PathBuf, Option<Module>>,
}

impl fmt::Debug for Symbolizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Symbolizer")
            .field("modules", &self.modules.len())
            .finish()
    }
}

impl Symbolizer {
    /// A symbolizer with nothing loaded yet.
    #[must_use]
    pub fn new() -> Symbolizer {
        Symbolizer::default()
    }

    /// Symbolizes one frame of `report`. A frame is a return address, so the call is looked
    /// up one byte before it.
    pub fn locate(&mut self, report: &Report, frame: Frame) -> Location {
        let module = frame.module.and_then(|m| report.modules.get(m)).cloned();
        let mut location = Location {
            module: module.clone(),
            addr: frame.addr,
            function: None,
            file: None,
            line: None,
        };
        let Some(path) = module else {
            return location;
        };
        let probe = frame.addr.saturating_sub(1);
        let Some(loaded) = self
            .modules
            .entry(path.clone())
            .or_insert_with(|| load(&path))
        else {
            return location;
        };
        if let Some(ctx) = &loaded.dwarf {
            if let Ok(Some(loc)) = ctx.find_location(probe) {
                location.file = loc.file.map(str::to_owned);
                location.line = loc.line;
            }
            if let Ok(mut frames) = ctx.find_frames(probe).skip_all_loads() {
                // The outermost frame of the inline chain is the real function; the innermost
                // (first) is what the line belongs to.
                if let Ok(Some(first)) = frames.next() {
                    location.function = first
                        .function
                        .and_then(|f| f.demangle().ok().map(Cow::into_owned));
                }
            }
        }
        if location.function.is_none() {
            let i = loaded.symbols.partition_point(|(start, _)| *start <= probe);
            location.function = i
                .checked_sub(1)
                .and_then(|i| loaded.symbols.get(i))
                .map(|(_, name)| name.clone());
        }
        location
    }

    /// Symbolizes every frame.
    pub fn locate_all(&mut self, report: &Report, frames: &[Frame]) -> Vec<Location> {
        frames.iter().map(|f| self.locate(report, *f)).collect()
    }
}

/// The acquiring frame in the traced program's own code: the first frame that is not the
/// runtime's (see [`Location::is_runtime`]) — with its `file:line` when the module has debug
/// info, else its module and address (a frame without line info is not skipped in favour of a
/// deeper one that has it: that would name the caller's caller); failing that the first frame
/// outside the preload.
#[must_use]
pub fn site(locations: &[Location]) -> Option<&Location> {
    locations.iter().find(|l| !l.is_runtime()).or_else(|| {
        locations.iter().find(|l| {
            !l.module
                .as_ref()
                .and_then(|m| m.file_name())
                .is_some_and(|n| n.to_string_lossy().starts_with("libloadguard_preload"))
        })
    })
}

fn load(path: &Path) -> Option<Module> {
    let data = std::fs::read(path).ok()?;
    let file = object::File::parse(&*data).ok()?;
    let endian = if file.is_little_endian() {
        gimli::RunTimeEndian::Little
    } else {
        gimli::RunTimeEndian::Big
    };
    let section = |id: gimli::SectionId| -> Result<Reader, gimli::Error> {
        let bytes = file
            .section_by_name(id.name())
            .and_then(|s| s.data().ok())
            .unwrap_or_default();
        Ok(gimli::EndianRcSlice::new(Rc::from(bytes), endian))
    };
    let has_debug = file.section_by_name(".debug_info").is_some();
    let dwarf = if has_debug {
        gimli::Dwarf::load(section)
            .ok()
            .and_then(|d| addr2line::Context::from_dwarf(d).ok())
    } else {
        None
    };
    let mut symbols: Vec<(u64, String)> = file
        .symbols()
        .chain(file.dynamic_symbols())
        .filter(|s| s.kind() == object::SymbolKind::Text && s.address() != 0)
        .filter_map(|s| {
            let name = s.name().ok()?;
            Some((
                s.address(),
                addr2line::demangle_auto(name.into(), None).into_owned(),
            ))
        })
        .collect();
    symbols.sort();
    symbols.dedup_by_key(|(start, _)| *start);
    Some(Module { dwarf, symbols })
}
