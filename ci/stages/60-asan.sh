#!/usr/bin/env bash
# AddressSanitizer (with its LeakSanitizer) over loadguard's tests, nightly, host target given
# explicitly so proc macros and build scripts are built without the sanitizer. A leak fails.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
# `loadguard_asan`: ASan intercepts mlock/munlock and turns them into no-ops, so the tests that
# read the locked size back (VmLck, smaps Locked) are marked ignored under it.
export RUSTFLAGS="-Zsanitizer=address --cfg loadguard_asan"
export RUSTDOCFLAGS="-Zsanitizer=address --cfg loadguard_asan"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1:handle_sigbus=0}"
# ASan's allocator maps shadow and heap memory lazily, so a test that counts /proc/self/maps lines
# sees mappings that are not the library's: such a test can skip that check when this is set.
export LOADGUARD_UNDER_ASAN=1
section "asan: -p loadguard --target x86_64-unknown-linux-gnu (nightly)"
run cargo +nightly test -p loadguard --target x86_64-unknown-linux-gnu \
    --target-dir "$CI_TARGET_ROOT/asan"
