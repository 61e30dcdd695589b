#!/usr/bin/env bash
# Cargo runner for x86_64-pc-windows-gnu (CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER):
# puts the ProcessPrng stand-in DLL next to the executable (test binaries, doctests, examples
# wherever cargo built them), then runs it under Wine.
set -euo pipefail
exe="$1"; shift
dll="${WINE_PROCESSPRNG_DLL:?set by ci/lib.sh}"
dir="$(dirname "$exe")"
if ! cmp -s "$dll" "$dir/bcryptprimitives.dll"; then
    cp "$dll" "$dir/bcryptprimitives.dll.$$" && mv -f "$dir/bcryptprimitives.dll.$$" "$dir/bcryptprimitives.dll"
fi
exec wine "$exe" "$@"
