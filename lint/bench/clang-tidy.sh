#!/usr/bin/env bash
# Runs clang-tidy on real C/C++ loader files of the benchmark corpus (see corpus.sh) the way
# loadguard-lint sees them: one file at a time, with no compile database and no vendor SDK
# headers (Windows, CUDA, QNN, …). It shows what clang-tidy can and cannot check in that setting.
#
#   lint/bench/clang-tidy.sh [FILE...]
#
# FILEs are paths relative to the corpus root (LOADGUARD_CORPUS, default target/lint-corpus, as
# extracted by corpus.sh) or absolute paths; without FILEs, the files holding the real bugs
# listed in lint/README.md ("Benchmark and false-positive review") are checked. Each file gets
#
#   clang-tidy --checks=$CHECKS [--extra-arg-before=-xc++-header] FILE -- -std=<gnu11|c++17>
#       -I<file's dir and each parent up to the project root> [-I<root>/include] [-I<root>/src]
#       -I<root's parent> $CLANG_TIDY_EXTRA_ARGS
#
# .c is C (gnu11: strict -std=c11 hides POSIX names such as CLOCK_REALTIME, and int8_t from
# <stdlib.h>, which a default gnu17 gcc or clang build does not); .h/.hh/.hpp is a C++17 header,
# passed with --extra-arg-before because `-x c++-header` after `--` makes clang-tidy 14 drop
# every flag ("Running without flags"); anything else is C++17. The project root is the
# <split>/<lang>/<project> directory; its parent resolves `#include <project/…>`. Printed per
# file: seconds, warnings (each `warning: … [check]` line), `error:` diagnostics, how many of
# them are missing headers (`file not found` is fatal: clang stops the translation unit there),
# and the first missing header; then warnings per check name and totals. Full outputs are kept
# in CLANG_TIDY_LOG (default: a new directory under /tmp, printed at the end).
#
# Needs only clang-tidy (Debian 12: `apt-get install -y clang-tidy`, version 14) and coreutils;
# the C and C++ system headers come from libc6-dev and libstdc++-12-dev (pulled in by g++),
# which clang-tidy does not depend on: without them files stop at <stdio.h> / <string>.
# Settings: CLANG_TIDY (binary), CLANG_TIDY_CHECKS, CLANG_TIDY_EXTRA_ARGS (extra compiler
# arguments, split on spaces, e.g. `-DMINIAUDIO_IMPLEMENTATION`), CLANG_TIDY_C_STD (default
# gnu11), CLANG_TIDY_CXX_STD (default c++17), CLANG_TIDY_TIMEOUT (seconds per file, default 900).
set -euo pipefail
export LC_ALL=C
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
corpus="${LOADGUARD_CORPUS:-$here/../../target/lint-corpus}"
tidy="${CLANG_TIDY:-clang-tidy}"
default_checks='-*,clang-analyzer-*,bugprone-*,cert-*,cppcoreguidelines-narrowing-conversions'
default_checks+=',concurrency-*,misc-*'
checks="${CLANG_TIDY_CHECKS:-$default_checks}"
read -r -a extra <<<"${CLANG_TIDY_EXTRA_ARGS:-}"
limit="${CLANG_TIDY_TIMEOUT:-900}"
c_std="${CLANG_TIDY_C_STD:-gnu11}"
cxx_std="${CLANG_TIDY_CXX_STD:-c++17}"
log="${CLANG_TIDY_LOG:-$(mktemp -d /tmp/clang-tidy-bench.XXXXXX)}"
mkdir -p "$log"

if ! command -v "$tidy" >/dev/null; then
    echo "clang-tidy.sh: $tidy not found (apt-get install -y clang-tidy)" >&2
    exit 2
fi
if [[ ! -d $corpus ]]; then
    echo "clang-tidy.sh: no corpus at $corpus (run lint/bench/corpus.sh first)" >&2
    exit 2
fi
corpus="$(cd "$corpus" && pwd)"

if (($# == 0)); then
    set -- \
        held-out/cpp/executorch/backends/qualcomm/runtime/backends/direct_mode/QnnExecuTorchIdlWrapper.cpp \
        held-out/cpp/executorch/extension/data_loader/mman_windows.cpp \
        held-out/cpp/executorch/extension/data_loader/mman.h \
        held-out/cpp/MNN/source/core/MNNFileUtils.cpp \
        held-out/cpp/ncnn/src/pipelinecache.cpp \
        held-out-2/cpp/CTranslate2/src/cuda/cublas_stub.cc \
        held-out-2/cpp/CTranslate2/src/cuda/nccl_stub.cc \
        held-out-2/cpp/whisper.cpp/examples/miniaudio.h \
        held-out-3/cpp/gguf-tools/gguflib.c \
        held-out-3/cpp/llama2.c/run.c \
        held-out-3/cpp/llama2.c/win.c \
        held-out-3/cpp/mlx/mlx/io/load.cpp \
        held-out-3/cpp/mlx/mlx/io/load.h \
        tune/cpp/ggml/src/ggml-rpc/transport.cpp
fi

"$tidy" --version | sed -n 's/^ *\(.*LLVM version.*\)$/clang-tidy: \1/p'
echo "checks: $checks"
printf '%-90s %8s %8s %7s %7s  %s\n' file seconds warnings errors missing first-missing-header
summary="$log/summary.tsv"
printf 'file\tseconds\twarnings\terrors\tmissing_headers\tfirst_missing\n' >"$summary"
: >"$log/warnings.all"
total_start=$EPOCHREALTIME
files=0 fatal_files=0 total_warnings=0 total_errors=0
for file in "$@"; do
    if [[ $file == /* ]]; then path="$file"; else path="$corpus/$file"; fi
    if [[ ! -f $path ]]; then
        echo "clang-tidy.sh: no such file: $path" >&2
        continue
    fi
    rel="${path#"$corpus"/}"
    case "$path" in
    *.c) before=() std=(-std="$c_std") ;;
    *.h | *.hh | *.hpp | *.hxx)
        before=(--extra-arg-before=-xc++-header) std=(-std="$cxx_std")
        ;;
    *) before=() std=(-std="$cxx_std") ;;
    esac
    dir="$(dirname "$path")"
    incs=(-I"$dir")
    if [[ $path == "$corpus"/*/*/*/* ]]; then
        root="$corpus/$(cut -d/ -f1-3 <<<"$rel")"
        while [[ $dir != "$root" ]]; do
            dir="$(dirname "$dir")"
            incs+=(-I"$dir")
        done
        for sub in include src; do
            [[ -d $root/$sub ]] && incs+=(-I"$root/$sub")
        done
        incs+=(-I"$(dirname "$root")")
    fi
    out="$log/$(tr '/' '_' <<<"$rel").txt"
    start=$EPOCHREALTIME
    rc=0
    timeout "$limit" "$tidy" --checks="$checks" "${before[@]}" "$path" -- \
        "${std[@]}" "${incs[@]}" "${extra[@]}" >"$out" 2>&1 || rc=$?
    end=$EPOCHREALTIME
    secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
    ((rc == 124)) && echo "clang-tidy.sh: $rel timed out after ${limit}s" >&2
    if grep -q '^Running without flags' "$out"; then
        echo "clang-tidy.sh: $rel: clang-tidy ignored the flags (see $out)" >&2
    fi
    grep -E '^[^ ].*:[0-9]+:[0-9]+: warning: .*\[[^]]+\]$' "$out" >>"$log/warnings.all" || true
    warnings=$(grep -cE '^[^ ].*:[0-9]+:[0-9]+: warning: .*\[[^]]+\]$' "$out" || true)
    errors=$(grep -cE '(^|: )(fatal )?error: ' "$out" || true)
    missing=$(grep -cE "error: '[^']+' file not found" "$out" || true)
    first=$(grep -oE "error: '[^']+' file not found" "$out" | head -1 | cut -d"'" -f2 || true)
    files=$((files + 1))
    total_warnings=$((total_warnings + warnings))
    total_errors=$((total_errors + errors))
    ((missing > 0)) && fatal_files=$((fatal_files + 1))
    row=("$rel" "$secs" "$warnings" "$errors" "$missing" "${first:--}")
    printf '%-90s %8s %8d %7d %7d  %s\n' "${row[@]}"
    printf '%s\t%s\t%d\t%d\t%d\t%s\n' "${row[@]}" >>"$summary"
done
total_secs=$(awk -v a="$total_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')

echo
echo "warnings by check:"
sed -E 's/.*\[([^]]+)\]$/\1/' "$log/warnings.all" | sort | uniq -c | sort -rn || true
echo
echo "total: $files files, $total_warnings warnings, $total_errors errors," \
    "$fatal_files files stopped by a missing header, ${total_secs}s"
echo "outputs: $log"
