#!/usr/bin/env bash
# rustfmt check of the whole workspace (fuzz/ is its own workspace: checked too if it exists).
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
section "fmt: cargo fmt --all --check"
run cargo fmt --all --check -- --color=never
if [[ -f fuzz/Cargo.toml ]]; then
    run cargo fmt --all --check --manifest-path fuzz/Cargo.toml -- --color=never
fi
