#!/usr/bin/env bash
# Miri over loadguard's unit and integration tests on x86_64, i686 (32-bit usize) and s390x
# (big-endian). Tests that need the real OS (files, mmap, child processes) must be marked
# #[cfg_attr(miri, ignore)]; the registry, loaders and checked arithmetic run against the
# heap-backed OS stand-in. Doctests are not run under Miri.
# Miri interprets on one core, so the targets run side by side (MIRI_JOBS at a time, default 2),
# each in its own target dir (target/miri-<target>: cargo holds a target dir's lock while its tests
# run); each target's output is kept in its own log and printed when it is done.
# Targets: MIRI_TARGETS="x86_64-unknown-linux-gnu ..." to override.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_component nightly miri rust-src
export MIRIFLAGS="${MIRIFLAGS:--Zmiri-strict-provenance -Zmiri-disable-isolation}"
# insta under Miri must not spawn `cargo metadata`.
export INSTA_WORKSPACE_ROOT="$CI_ROOT"
MIRI_JOBS="${MIRI_JOBS:-2}"
read -r -a targets <<<"${MIRI_TARGETS:-${CI_MIRI_TARGETS[*]}}"
for t in "${targets[@]}"; do
    section "miri: setup $t"
    quietly "miri-setup-$t" cargo +nightly miri setup --target "$t"
done
logdir="$CI_TARGET_ROOT/ci-logs"
mkdir -p "$logdir"
declare -A target_of=()   # pid -> target of the runs in flight
status=0
reap() {  # wait for whichever run ends first, print its log, record a failure
    local done_pid="" rc=0 t
    wait -n -p done_pid "${!target_of[@]}" || rc=$?
    t="${target_of[$done_pid]}"
    unset "target_of[$done_pid]"
    section "miri: -p loadguard --target $t  (MIRIFLAGS=$MIRIFLAGS): exit $rc"
    grep -v -E '^\s+(Compiling|Checking|Blocking)' "$logdir/miri-$t.log" || true
    if ((rc != 0)); then warn "miri failed on $t"; status=1; fi
}
for t in "${targets[@]}"; do
    while ((${#target_of[@]} >= MIRI_JOBS)); do reap; done
    info "miri: starting $t (log: ${logdir#"$CI_ROOT"/}/miri-$t.log)"
    cargo +nightly miri test -p loadguard --target "$t" --lib --tests --no-fail-fast \
        --target-dir "$CI_TARGET_ROOT/miri-$t" >"$logdir/miri-$t.log" 2>&1 &
    target_of[$!]="$t"
done
while ((${#target_of[@]} > 0)); do reap; done
exit "$status"
