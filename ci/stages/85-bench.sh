#!/usr/bin/env bash
# Every benchmark, briefly (LOADGUARD_BENCH_QUICK=1: fewer rounds, smaller inputs), so their
# ratios are printed in every CI log. They measure and print, in interleaved paired rounds;
# nothing here asserts a timing, so a slow or loaded machine cannot fail this stage — only a
# bench that no longer builds or runs can.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
export LOADGUARD_BENCH_QUICK=1
section "bench: loader (registry, read path, formats, shm), quick"
run cargo bench -p loadguard
section "bench: sessions (N = 1, 4, 16 sessions of a 64 MiB file; cold loads)"
export LOADGUARD_BENCH_MIB=64 LOADGUARD_BENCH_MAX_N=16
run cargo bench -p loadguard-cli --bench sessions
