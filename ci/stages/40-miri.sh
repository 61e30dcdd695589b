#!/usr/bin/env bash
# Miri over loadguard's unit and integration tests on x86_64, i686 (32-bit usize) and s390x
# (big-endian). Tests that need the real OS (files, mmap, child processes) must be marked
# #[cfg_attr(miri, ignore)]; the registry, loaders and checked arithmetic run against the
# heap-backed OS stand-in. Doctests are not run under Miri (they use real files).
# Targets: MIRI_TARGETS="x86_64-unknown-linux-gnu ..." to override.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_component nightly miri rust-src
export MIRIFLAGS="${MIRIFLAGS:--Zmiri-strict-provenance -Zmiri-disable-isolation}"
# insta under Miri must not spawn `cargo metadata`.
export INSTA_WORKSPACE_ROOT="$CI_ROOT"
read -r -a targets <<<"${MIRI_TARGETS:-${CI_MIRI_TARGETS[*]}}"
for t in "${targets[@]}"; do
    section "miri: setup $t"
    quietly "miri-setup-$t" cargo +nightly miri setup --target "$t"
done
status=0
for t in "${targets[@]}"; do
    section "miri: -p loadguard --target $t  (MIRIFLAGS=$MIRIFLAGS)"
    run cargo +nightly miri test -p loadguard --target "$t" --lib --tests || { warn "miri failed on $t"; status=1; }
done
exit "$status"
