#!/usr/bin/env bash
# loadguard's tests on 32-bit x86 Linux, run natively: usize is 32 bits here, so this is where
# the checked u64 <-> usize conversions (e.g. a 5 GiB file is a typed error) are exercised.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_apt libc6-dev-i386 lib32gcc-12-dev
need_target i686-unknown-linux-gnu
section "test: -p loadguard --target i686-unknown-linux-gnu"
run cargo test -p loadguard --target i686-unknown-linux-gnu --no-fail-fast
