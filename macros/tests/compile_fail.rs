//! Every compile error of `#[derive(ApiTable)]` and `os_call!`, with its exact diagnostics in
//! `tests/ui/*.stderr`. Regenerate after an intended change with
//! `TRYBUILD=overwrite cargo test -p loadguard-macros --test compile_fail` and review the diff.
//! The `.stderr` files are rustc-version sensitive: they are recorded with stable 1.95.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
