//! Every compile error of `#[derive(ApiTable)]` and `os_call!`, with its exact diagnostics in
//! `tests/ui/*.stderr`. Regenerate after an intended change with
//! `TRYBUILD=overwrite cargo test -p loadguard-macros --test compile_fail -- --ignored` and
//! review the diff. The `.stderr` files are rustc-version sensitive: they are recorded with
//! stable 1.95.
//!
//! Ignored in the README's test command (trybuild builds loadguard once more, 18-40 s cold on
//! 2 cores): CI runs it in `ci/stages/22-trybuild.sh`. On every run the snapshot suite
//! (`snapshots/tests/macros.rs`) still checks the derive's and `os_call!`'s one-pass error
//! lists and where the duplicate-symbol errors point.

#[test]
#[ignore = "slow: run by the 22-trybuild CI stage (`-- --ignored`)"]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
