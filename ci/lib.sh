# shellcheck shell=bash
# Shared helpers for the CI stages in ci/stages/ and for .ci/run.
# Source it from a stage:  . "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
# Every helper is idempotent: running a stage twice, or alone, installs nothing twice.

set -euo pipefail

CI_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CI_ROOT
cd "$CI_ROOT"

# Builds use the default target/ unless the caller set CARGO_TARGET_DIR; the stages that change
# RUSTFLAGS (loom, asan) use their own subdirectory of it so they never thrash the main cache.
CI_TARGET_ROOT="${CARGO_TARGET_DIR:-$CI_ROOT/target}"
export CI_TARGET_ROOT

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
export RUST_BACKTRACE="${RUST_BACKTRACE:-1}"
export DEBIAN_FRONTEND=noninteractive

# Every package, target, component and tool the stages need, in one place so the install stage
# and the individual stages agree.
CI_APT_PACKAGES=(
    libc6-dev-i386 lib32gcc-12-dev                        # i686 tests (never gcc-multilib)
    gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user # aarch64 tests under qemu
    gcc-mingw-w64-x86-64 wine64 wine                      # windows-gnu tests under Wine
    valgrind                                              # leak + uninitialised-read pass
    strace                                                # the preload's fault-injection anchor
)
CI_RUST_TARGETS=(i686-unknown-linux-gnu aarch64-unknown-linux-gnu x86_64-pc-windows-gnu)
CI_MIRI_TARGETS=(x86_64-unknown-linux-gnu i686-unknown-linux-gnu s390x-unknown-linux-gnu)

# ---------------------------------------------------------------- logging

if [[ -t 1 ]]; then CI_BOLD=$'\033[1m' CI_PLAIN=$'\033[0m'; else CI_BOLD="" CI_PLAIN=""; fi
section() { printf '\n%s==== %s ====%s\n' "$CI_BOLD" "$*" "$CI_PLAIN"; }
info()    { printf -- '--- %s\n' "$*"; }
warn()    { printf -- '!!! %s\n' "$*" >&2; }
die()     { printf -- '!!! %s\n' "$*" >&2; exit 1; }

# run CMD...: echo the command, then run it.
run() { printf '+ %s\n' "$*"; "$@"; }

# quietly LOGNAME CMD...: run CMD with its output in a log file; print the last lines on failure.
quietly() {
    local name="$1"; shift
    local log="$CI_TARGET_ROOT/ci-logs/$name.log"
    mkdir -p "$(dirname "$log")"
    printf '+ %s  (log: %s)\n' "$*" "${log#"$CI_ROOT"/}"
    if ! "$@" >"$log" 2>&1; then
        warn "failed: $*  -- last 40 lines of $log:"
        tail -n 40 "$log" >&2
        return 1
    fi
}

# retry CMD...: up to 3 attempts, 10 s apart (registry hiccups on a fresh machine).
retry() {
    local n
    for n in 1 2 3; do
        "$@" && return 0
        ((n == 3)) || { warn "attempt $n failed, retrying in 10 s: $*"; sleep 10; }
    done
    return 1
}

# ---------------------------------------------------------------- installs

_apt_updated=0
_sudo=()
[[ $(id -u) == 0 ]] || _sudo=(sudo)

# need_apt PKG...: install the Debian packages that are not installed yet (apt-get update first,
# once per stage).
need_apt() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' \
            || missing+=("$p")
    done
    if ((${#missing[@]} == 0)); then info "apt: already installed: $*"; return 0; fi
    if [[ $_apt_updated == 0 ]]; then
        retry quietly apt-update "${_sudo[@]}" apt-get update
        _apt_updated=1
    fi
    retry quietly apt-install "${_sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
    info "apt: installed ${missing[*]}"
}

# need_target TARGET... [--toolchain TC]: rustup target add, only for missing targets.
need_target() {
    local tc="" targets=() t
    while (($#)); do
        case "$1" in --toolchain) tc="$2"; shift 2 ;; *) targets+=("$1"); shift ;; esac
    done
    local have
    have="$(rustup ${tc:++"$tc"} target list --installed)"
    local missing=()
    for t in "${targets[@]}"; do grep -qx "$t" <<<"$have" || missing+=("$t"); done
    if ((${#missing[@]} == 0)); then info "rustup: targets present${tc:+ ($tc)}: ${targets[*]}"; return 0; fi
    retry run rustup ${tc:+--toolchain "$tc"} target add "${missing[@]}"
}

# need_component TOOLCHAIN COMPONENT...: rustup component add, only for missing components.
need_component() {
    local tc="$1"; shift
    local have missing=() c
    have="$(rustup +"$tc" component list --installed)"
    for c in "$@"; do grep -q "^$c\(-\|$\)" <<<"$have" || missing+=("$c"); done
    if ((${#missing[@]} == 0)); then info "rustup: components present ($tc): $*"; return 0; fi
    retry run rustup component add --toolchain "$tc" "${missing[@]}"
}

# need_cargo_tool BINARY CRATE: cargo install --locked CRATE unless BINARY is on PATH.
need_cargo_tool() {
    local bin="$1" crate="$2"
    export PATH="$HOME/.cargo/bin:$PATH"
    if command -v "$bin" >/dev/null 2>&1; then info "cargo tool present: $bin"; return 0; fi
    retry quietly "install-$crate" cargo install --locked "$crate"
    info "cargo: installed $crate"
}

# need_venv DIR PKG...: a Python virtual environment at DIR with the pip packages PKG (each
# also its import name) installed; creates it and installs only what is missing.
need_venv() {
    local dir="$1"; shift
    if [[ ! -x $dir/bin/python ]]; then
        retry quietly venv python3 -m venv "$dir"
    fi
    if "$dir/bin/python" -c 'import importlib.util, sys; sys.exit(any(importlib.util.find_spec(m) is None for m in sys.argv[1:]))' "$@"; then
        info "pip: already installed in ${dir#"$CI_ROOT"/}: $*"
        return 0
    fi
    retry quietly pip-install "$dir/bin/python" -m pip install --disable-pip-version-check -q "$@"
    info "pip: installed $* in ${dir#"$CI_ROOT"/}"
}

# ---------------------------------------------------------------- target environments

# Cross/emulated targets: linkers and runners. Harmless to set for every stage.
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu"
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$CI_ROOT/ci/wine/runner.sh"
export WINEPREFIX="${WINEPREFIX:-$CI_TARGET_ROOT/wineprefix}"
export WINEDEBUG="${WINEDEBUG:--all}"
export WINE_PROCESSPRNG_DLL="$CI_TARGET_ROOT/wine-dll/bcryptprimitives.dll"
