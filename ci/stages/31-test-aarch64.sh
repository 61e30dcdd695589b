#!/usr/bin/env bash
# loadguard's tests on aarch64 Linux under qemu-user (linker and runner set in ci/lib.sh).
# qemu-user emulates the syscalls, so mmap/madvise/mlock go to the host kernel.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_apt gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
need_target aarch64-unknown-linux-gnu
section "test: -p loadguard --target aarch64-unknown-linux-gnu (qemu-user)"
run cargo test -p loadguard --target aarch64-unknown-linux-gnu
