#!/usr/bin/env bash
# insta snapshot check: a changed, missing or unreferenced .snap fails. With CI=true insta writes
# no .snap.new files. The README step already fails on a changed or missing snapshot (CI=true);
# this stage adds --unreferenced=reject, so it runs only the packages that use insta (found with
# cargo metadata), not the whole workspace's tests again. SNAPSHOT_PACKAGES="a b" overrides.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_cargo_tool cargo-insta cargo-insta
export CI=true
if [[ -n ${SNAPSHOT_PACKAGES:-} ]]; then
    read -r -a pkgs <<<"$SNAPSHOT_PACKAGES"
else
    mapfile -t pkgs < <(cargo metadata --no-deps --format-version 1 | python3 -c '
import json, sys
for p in json.load(sys.stdin)["packages"]:
    if any(d["name"] == "insta" for d in p["dependencies"]):
        print(p["name"])')
fi
if ((${#pkgs[@]} == 0)); then
    info "snapshots: no package depends on insta (skipped)"
    exit 0
fi
args=()
for p in "${pkgs[@]}"; do args+=(-p "$p"); done
section "snapshots: cargo insta test ${args[*]} --check --unreferenced=reject"
run cargo insta test "${args[@]}" --check --unreferenced=reject
