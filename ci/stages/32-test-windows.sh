#!/usr/bin/env bash
# loadguard's tests on x86_64-pc-windows-gnu under Wine. Wine 8 lacks ProcessPrng, which Rust's
# std imports from bcryptprimitives.dll; ci/wine/runner.sh puts our stand-in DLL
# (ci/wine/bcryptprimitives.c) next to every exe before running it under Wine.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
need_apt gcc-mingw-w64-x86-64 wine64 wine
need_target x86_64-pc-windows-gnu
section "test: build the ProcessPrng DLL"
bash "$CI_ROOT/ci/wine/build-dll.sh"
section "test: Wine prefix $WINEPREFIX"
if [[ ! -f $WINEPREFIX/system.reg ]]; then
    quietly wineboot wine wineboot --init
fi
wine --version
section "test: -p loadguard --target x86_64-pc-windows-gnu (Wine)"
run cargo test -p loadguard --target x86_64-pc-windows-gnu --no-fail-fast
# Leave no wineserver behind (it would keep the prefix busy and outlive the stage).
wineserver -k 2>/dev/null || true
