#!/usr/bin/env bash
# Real GGUF files, held out of the committed fixtures: llama.cpp's models/ggml-vocab-*.gguf
# (GGUF v2 and v3, written by llama.cpp's converters) from the llama-cpp-python sdist on PyPI,
# parsed by loadguard and compared with gguf-py's reading of the same files (its dumps are
# committed in loader/tests/fixtures/gguf-vocab/held-out/, written by ../dump.py with
# gguf==0.19.0). About a minute: the sdist download (76 MB) and its metadata build.
#
# The ExecuTorch export/dump comparison is not a stage: installing executorch 1.5.1 and torch
# took 3 min 54 s on a fresh venv here, plus 50 s of export, past this work's CI budget. The
# export is deterministic (byte-identical on re-run); regenerate and compare with
#   python3 -m venv /tmp/et && /tmp/et/bin/pip install executorch==1.5.1 torch
#   /tmp/et/bin/python loader/tests/fixtures/executorch/export.py loader/tests/fixtures/executorch
#   git diff --exit-code loader/tests/fixtures/executorch && cargo test -p loadguard --test formats_real
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
VERSION=0.3.36
dir="$CI_TARGET_ROOT/real-gguf"
held="$CI_ROOT/loader/tests/fixtures/gguf-vocab/held-out"
section "formats-real: llama-cpp-python==$VERSION sdist (its models/ggml-vocab-*.gguf)"
mkdir -p "$dir"
sdist="$dir/llama_cpp_python-$VERSION.tar.gz"
if [[ ! -f $sdist ]]; then
    retry quietly pip-download-llama-cpp-python python3 -m pip download \
        "llama-cpp-python==$VERSION" --no-binary llama-cpp-python --no-deps -d "$dir"
fi
rm -rf "$dir/files"; mkdir -p "$dir/files"
tar -xzf "$sdist" -C "$dir" --wildcards "llama_cpp_python-$VERSION/vendor/llama.cpp/models/ggml-vocab-*.gguf"
n=0
for dump in "$held"/*.gguf.json; do
    name="$(basename "$dump" .json)"
    cp "$dir/llama_cpp_python-$VERSION/vendor/llama.cpp/models/$name" "$dump" "$dir/files/"
    n=$((n + 1))
done
info "formats-real: $n held-out GGUF files with gguf-py dumps"
section "formats-real: loadguard's parse against gguf-py's"
LOADGUARD_REAL_GGUF="$dir/files" run cargo test -p loadguard --test formats_real -- --ignored --nocapture
