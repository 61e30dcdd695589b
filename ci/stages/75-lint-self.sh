#!/usr/bin/env bash
# The repository lints itself clean: loadguard-lint over the whole tree from its root, Rust and
# C/C++ alike. Deliberately buggy inputs (the analyzer's fixtures, fuzz corpora) are excluded by
# the repository's ignore files (.gitignore, .ignore, .loadguardignore), not by the paths given.
# Any finding (or a file that does not parse) fails the stage; the SARIF log is kept in
# target/ci-logs/lint-self.sarif for code scanning. Reuses the main debug build.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
section "lint-self: loadguard lint (repository root)"
run cargo build -q -p loadguard-cli
mkdir -p "$CI_TARGET_ROOT/ci-logs"
# Human report to the log first; it says file:line, why and fix for every finding.
run cargo run -q -p loadguard-cli -- lint
run cargo run -q -p loadguard-cli -- lint --format sarif \
    >"$CI_TARGET_ROOT/ci-logs/lint-self.sarif"
info "lint-self: clean (SARIF: ${CI_TARGET_ROOT#"$CI_ROOT"/}/ci-logs/lint-self.sarif)"
