#!/usr/bin/env bash
# trybuild compile-fail suite of loadguard-macros: every diagnostic of `#[derive(ApiTable)]`
# and `os_call!` against macros/tests/ui/*.stderr. Kept out of the README's test command
# (`#[ignore]`d there): it builds loadguard a second time in target/tests/trybuild (18-40 s cold
# on 2 cores, depending on load), and its .stderr files are tied to the stable rustc they were
# recorded with, which a newcomer's toolchain may not be.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
section "trybuild: -p loadguard-macros --test compile_fail -- --ignored"
run cargo test -p loadguard-macros --test compile_fail -- --ignored
