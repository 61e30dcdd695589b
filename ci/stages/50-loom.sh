#!/usr/bin/env bash
# loom models in loom-tests/ (every interleaving up to LOOM_MAX_PREEMPTIONS preemptions).
# RUSTFLAGS changes, so it builds in its own target dir and leaves the main cache alone.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
export RUSTFLAGS="--cfg loom"
export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-3}"
section "loom: -p loom-tests --release  (LOOM_MAX_PREEMPTIONS=$LOOM_MAX_PREEMPTIONS)"
run cargo test -p loom-tests --release --target-dir "$CI_TARGET_ROOT/loom"
