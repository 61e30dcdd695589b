#!/usr/bin/env bash
# Installs everything the later stages need: Debian packages, rustup targets and components,
# cargo-fuzz and cargo-insta. Each stage also checks its own needs, so this stage only moves the
# install time into one row of the timing table.
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

section "install: Debian packages"
need_apt "${CI_APT_PACKAGES[@]}"

section "install: rustup targets and components"
need_target "${CI_RUST_TARGETS[@]}"
need_component nightly miri rust-src
# The ASan stage builds for the host with nightly; its std for the host ships with nightly.

section "install: cargo tools"
need_cargo_tool cargo-fuzz cargo-fuzz
need_cargo_tool cargo-insta cargo-insta

section "install: versions"
rustc --version; rustc +nightly --version
wine --version; qemu-aarch64 --version | head -1
x86_64-w64-mingw32-gcc --version | head -1; aarch64-linux-gnu-gcc --version | head -1
valgrind --version; cargo fuzz --version; cargo insta --version
