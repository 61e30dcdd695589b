#!/usr/bin/env bash
# clippy for x86_64-pc-windows-gnu: the Windows half of the OS seam is only compiled here (and in
# the Wine test stage). Proc-macro crates still build for the host, which is fine.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_target x86_64-pc-windows-gnu
section "clippy: --target x86_64-pc-windows-gnu --workspace --all-targets"
run cargo clippy --workspace --all-targets --target x86_64-pc-windows-gnu -- -D warnings
