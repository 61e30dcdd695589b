//! loom models live in `tests/`, one file per concurrent structure. Without `--cfg loom` they
//! compile to nothing; CI runs them with `RUSTFLAGS="--cfg loom" cargo test -p loom-tests --release`.
