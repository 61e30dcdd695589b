#!/usr/bin/env bash
# Every cargo-fuzz target in fuzz/ (nightly, ASan): replay fuzz/regressions/<target>/* once, then
# fuzz for FUZZ_SECONDS (default 20) starting from the committed seed corpus fuzz/corpus/<target>/.
# New inputs go to a scratch corpus under fuzz/target, so the committed corpus is never modified.
# Per target, fuzz/corpus/<target>.seeds lists more seed directories (one per line, relative to
# the repository root, e.g. lint/tests/fixtures) and fuzz/corpus/<target>.args extra libFuzzer
# flags (e.g. -max_len=262144 -len_control=0).
# A crash leaves its input in fuzz/artifacts/<target>/ and fails the stage.
# FUZZ_TARGETS="a b" to run only some targets.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
FUZZ_SECONDS="${FUZZ_SECONDS:-20}"
if [[ ! -f fuzz/Cargo.toml ]]; then
    info "fuzz: no fuzz/Cargo.toml yet: nothing to fuzz (skipped)"
    exit 0
fi
need_cargo_tool cargo-fuzz cargo-fuzz
section "fuzz: targets"
if [[ -n ${FUZZ_TARGETS:-} ]]; then
    read -r -a targets <<<"$FUZZ_TARGETS"
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi
if ((${#targets[@]} == 0)); then
    info "fuzz: fuzz/Cargo.toml declares no [[bin]] fuzz targets yet (skipped)"
    exit 0
fi
info "fuzz targets: ${targets[*]}"

section "fuzz: build (nightly, ASan, release + debug assertions)"
run cargo +nightly fuzz build

status=0
failed=()
for t in "${targets[@]}"; do
    regress="fuzz/regressions/$t"
    if [[ -d $regress ]]; then
        mapfile -t files < <(find "$regress" -type f ! -name '.*' ! -name '*.md' | sort)
        if ((${#files[@]} > 0)); then
            section "fuzz: $t: replay ${#files[@]} regression input(s) from $regress"
            # Only files given: libFuzzer runs each once and exits.
            if ! run cargo +nightly fuzz run "$t" "${files[@]}" -- -runs=1 2>&1 | tail -n 25; then
                status=1; failed+=("$t(regressions)")
                continue
            fi
        fi
    fi

    seeds="fuzz/corpus/$t"
    scratch="fuzz/target/ci-corpus/$t"
    rm -rf "$scratch"; mkdir -p "$scratch"
    dirs=("$scratch")
    extra_args=()
    if [[ -f fuzz/corpus/$t.seeds ]]; then
        while IFS= read -r dir; do
            [[ -n $dir && -d $dir ]] && dirs+=("$dir")
        done <"fuzz/corpus/$t.seeds"
    fi
    if [[ -f fuzz/corpus/$t.args ]]; then
        read -r -a extra_args <"fuzz/corpus/$t.args"
    fi
    if [[ -d $seeds ]]; then
        dirs+=("$seeds")
        section "fuzz: $t: ${FUZZ_SECONDS}s from $(find "$seeds" -type f | wc -l) seed(s) in $seeds"
    else
        warn "fuzz: $t has no seed corpus ($seeds): starting from nothing"
        section "fuzz: $t: ${FUZZ_SECONDS}s"
    fi
    # Progress lines are dropped; the summary, and any crash report, are kept.
    log="$CI_TARGET_ROOT/ci-logs/fuzz-$t.log"
    mkdir -p "$(dirname "$log")"
    printf '+ cargo +nightly fuzz run %s %s -- -max_total_time=%s %s (log: %s)\n' \
        "$t" "${dirs[*]}" "$FUZZ_SECONDS" "${extra_args[*]}" "${log#"$CI_ROOT"/}"
    if cargo +nightly fuzz run "$t" "${dirs[@]}" -- \
        -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 "${extra_args[@]}" \
        >"$log" 2>&1; then
        grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb|INFO: seed corpus)' "$log" || true
    else
        status=1; failed+=("$t")
        warn "fuzz: $t failed; last 60 lines of $log:"
        tail -n 60 "$log" >&2
    fi
done
if ((status != 0)); then warn "fuzz: failed targets: ${failed[*]}"; fi
exit "$status"
