#!/usr/bin/env bash
# The process-level harness (loadguard-preload, `loadguard trace` / `loadguard faults`) on
# loaders that need more than the README's test command has: the Python `safetensors` and
# `gguf` packages (pip, into a venv under the target dir), strace and valgrind as the anchors,
# full sweeps of the third-party loaders (tables in the log), and the overhead benchmark.
# The harness's other tests (C fixtures, the Rust memmap2/libloading fixture, loadguard's own
# CLI under its own sweep) run in `cargo test --workspace`.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_apt strace valgrind
venv="$CI_TARGET_ROOT/preload-venv"
section "preload: Python loaders (pip: numpy safetensors gguf)"
need_venv "$venv" numpy safetensors gguf
"$venv/bin/python" -c 'import safetensors, gguf, numpy; print("safetensors", safetensors.__version__, "numpy", numpy.__version__)'

section "preload: opt-in tests (Python loaders, strace and valgrind anchors)"
LOADGUARD_PYTHON="$venv/bin/python" run cargo test -p loadguard-cli \
    --test python_loaders --test anchors -- --ignored --nocapture

section "preload: full sweeps of the third-party loaders"
run cargo build -q -p loadguard-cli -p loadguard-preload
export LOADGUARD_PRELOAD="$CI_TARGET_ROOT/debug/libloadguard_preload.so"
loadguard="$CI_TARGET_ROOT/debug/loadguard"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$venv/bin/python" preload/fixtures/py_loaders.py make "$work"
for mode in safetensors gguf; do
    file="$work/tiny.$mode"
    info "every op, --only the model file: python $mode reader"
    # A finding (exit 1) is reported, not a stage failure: these are other projects' loaders.
    "$loadguard" faults --sweep --only "*tiny.$mode" --jobs 2 --timeout 120 -- \
        "$venv/bin/python" preload/fixtures/py_loaders.py "$mode" "$file" >/dev/null \
        || info "the $mode sweep reported findings (table above)"
done

section "preload: overhead benchmark (10,000 files, with and without the preload)"
run cargo bench -p loadguard-preload --bench overhead
