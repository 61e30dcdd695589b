#!/usr/bin/env bash
# Builds the ProcessPrng stand-in DLL (see bcryptprimitives.c) into $WINE_PROCESSPRNG_DLL.
# Rebuilds only when the source is newer than the DLL.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
src="$CI_ROOT/ci/wine/bcryptprimitives.c"
out="$WINE_PROCESSPRNG_DLL"
if [[ -f $out && $out -nt $src ]]; then info "wine: $out is up to date"; exit 0; fi
mkdir -p "$(dirname "$out")"
run x86_64-w64-mingw32-gcc -O2 -Wall -Wextra -shared -o "$out.tmp" "$src" -ladvapi32
mv "$out.tmp" "$out"
info "wine: built $out"
