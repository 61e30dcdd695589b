#!/usr/bin/env bash
# valgrind memcheck over the test binaries of loadguard (VALGRIND_PACKAGES to widen): definite
# leaks and reads of uninitialised memory (e.g. an OS status value never written) fail the stage.
# Complements ASan: memcheck sees uninitialised reads, ASan does not. Reuses the debug test build
# of the README command (same features, so nothing is rebuilt).
# Tests that cannot run under valgrind (or are too slow there) can skip themselves when
# LOADGUARD_UNDER_VALGRIND=1. Each binary runs in its package directory, as under cargo test.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_apt valgrind
read -r -a packages <<<"${VALGRIND_PACKAGES:-loadguard}"
section "valgrind: build test binaries"
msgs="$CI_TARGET_ROOT/ci-logs/valgrind-build.json"
mkdir -p "$(dirname "$msgs")"
run cargo test --workspace --no-run --message-format=json-render-diagnostics >"$msgs"
meta="$CI_TARGET_ROOT/ci-logs/valgrind-metadata.json"
cargo metadata --no-deps --format-version 1 >"$meta"
mapfile -t exes < <(python3 - "$msgs" "$meta" "${packages[@]}" <<'PY'
import json, sys
msgs, meta, wanted = sys.argv[1], sys.argv[2], set(sys.argv[3:])
names = {p["id"]: p["name"] for p in json.load(open(meta))["packages"]}
seen = set()
for line in open(msgs):
    if not line.startswith("{"):
        continue
    m = json.loads(line)
    if m.get("reason") != "compiler-artifact" or not m.get("executable"):
        continue
    if not m.get("profile", {}).get("test"):
        continue
    if names.get(m["package_id"]) in wanted and m["executable"] not in seen:
        seen.add(m["executable"])
        # cargo test runs a test binary in its package's directory: do the same.
        print(m["executable"] + "\t" + m["manifest_path"].rsplit("/", 1)[0])
PY
)
if ((${#exes[@]} == 0)); then
    die "no test executables found for packages: ${packages[*]}"
fi
export LOADGUARD_UNDER_VALGRIND=1
# memcheck is ~20-50x slower than native: each binary gets at most this long (a timeout fails).
VALGRIND_TIMEOUT="${VALGRIND_TIMEOUT:-600}"
status=0
for line in "${exes[@]}"; do
    exe="${line%%$'\t'*}" dir="${line#*$'\t'}"
    section "valgrind: ${exe#"$CI_ROOT"/}"
    log="$CI_TARGET_ROOT/ci-logs/valgrind-$(basename "$exe").log"
    # --test-threads=1: valgrind serialises threads anyway, and one thread keeps reports readable.
    if (cd "$dir" && CARGO_MANIFEST_DIR="$dir" run timeout "$VALGRIND_TIMEOUT" \
        valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite \
        --show-leak-kinds=definite --error-exitcode=99 --log-file="$log" "$exe" --test-threads=1); then
        info "valgrind clean"
    else
        status=1
        warn "valgrind reported errors (or a test failed): $log"
        head -c 20000 "$log" >&2
    fi
done
exit "$status"
