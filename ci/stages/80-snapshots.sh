#!/usr/bin/env bash
# insta snapshot check: a changed, missing or unreferenced snapshot fails. With CI=true insta
# writes no .snap.new files. Reuses the main debug build.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_cargo_tool cargo-insta cargo-insta
export CI=true
section "snapshots: cargo insta test --workspace --check --unreferenced=reject"
run cargo insta test --workspace --check --unreferenced=reject
