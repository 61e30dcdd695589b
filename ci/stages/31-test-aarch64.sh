#!/usr/bin/env bash
# loadguard's tests on aarch64 Linux under qemu-user (linker and runner set in ci/lib.sh).
# qemu-user emulates the syscalls, so mmap/madvise/mlock go to the host kernel.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_apt gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
need_target aarch64-unknown-linux-gnu
# A test that re-runs its own binary in a child process (std::env::current_exe()) cannot exec an
# aarch64 binary from inside qemu-user (no binfmt_misc here: the spawn fails with exit 127). Such
# tests must prefix the child's command with this runner when it is set.
export LOADGUARD_CHILD_RUNNER="$CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER"
# qemu-user accepts madvise(MADV_POPULATE_READ) and does nothing: tests that need the kernel to
# enforce it are marked `#[cfg_attr(loadguard_emulated, ignore = …)]` and show as ignored here.
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS="--cfg loadguard_emulated"
section "test: -p loadguard --target aarch64-unknown-linux-gnu (qemu-user)"
run cargo test -p loadguard --target aarch64-unknown-linux-gnu --no-fail-fast
