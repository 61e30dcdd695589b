//! Front-ends: source text of one language in, the language-neutral [`crate::ir::Unit`] out.
//!
//! [`rust`] lowers `syn`'s tree; [`cpp`] lowers tree-sitter's C and C++ trees. Rules never see
//! either tree, so each rule is written once. `front/budget.rs` bounds what a tree-sitter
//! parse may cost.

mod budget;
pub mod cpp;
pub mod rust;

/// The language of a file, from its extension (`None`: not a file the analyzer reads).
#[must_use]
pub fn language_of(path: &std::path::Path) -> Option<Language> {
    let ext = path.extension()?.to_str()?;
    Some(match ext {
        "rs" => Language::Rust,
        "c" => Language::C,
        "cc" | "cpp" | "cxx" | "c++" | "h" | "hh" | "hpp" | "hxx" | "h++" | "inl" | "ipp"
        | "cu" | "cuh" => Language::Cpp,
        _ => return None,
    })
}

/// A language the analyzer reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Language {
    /// Rust.
    Rust,
    /// C.
    C,
    /// C++ (and C headers and CUDA sources, which parse as C++ well enough; Objective-C is not
    /// read: its message sends misparse as C++).
    Cpp,
}
