#!/usr/bin/env bash
# rustfmt check of the whole workspace (fuzz/ is its own workspace: checked too if it exists),
# and no merge-conflict markers in any tracked file (a merge once committed them to README.md
# and TESTING.md, where they sat unnoticed in the rendered docs).
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
section "fmt: cargo fmt --all --check"
run cargo fmt --all --check -- --color=never
if [[ -f fuzz/Cargo.toml ]]; then
    run cargo fmt --all --check --manifest-path fuzz/Cargo.toml -- --color=never
fi
section "fmt: no merge-conflict markers"
if git grep -nE '^(<<<<<<< |=======$|>>>>>>> )'; then
    die "merge-conflict markers in tracked files (above)"
fi
