#!/usr/bin/env bash
# clippy on the host, every crate and every target kind (lib, bins, tests, benches, examples).
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
section "clippy: host, --workspace --all-targets"
run cargo clippy --workspace --all-targets -- -D warnings
