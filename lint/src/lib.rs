//! `loadguard-lint`: a syn-based analyzer for loader bug classes (filled by the lint issue).
