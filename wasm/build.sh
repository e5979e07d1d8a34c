#!/bin/sh
# Build wasm/shardy_preprocess.wasm reproducibly with Debian's toolchain (no network, no crates).
#
#   apt-get install rustc cargo libstd-rust-dev-wasm32 lld
#   wasm/build.sh [OUT]        # OUT defaults to wasm/shardy_preprocess.wasm
#
# Reproducibility: one codegen unit, LTO, symbols stripped, no debug info, and the crate's
# absolute path remapped to a fixed prefix, so builds in different directories are identical.
# Target features are all standard WebAssembly 2.0 (wasmtime enables them by default); SIMD here
# is plain IEEE arithmetic (no relaxed-simd), so results stay bit-exact.
# CARGO_TARGET_DIR may point elsewhere (the rebuild test uses a temporary directory).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-"$here/shardy_preprocess.wasm"}
rustc=${SHARDY_RUSTC:-/usr/bin/rustc}
cargo=${SHARDY_CARGO:-/usr/bin/cargo}
target_dir=${CARGO_TARGET_DIR:-"$here/target"}
cd "$here"
RUSTC="$rustc" \
RUSTFLAGS="--remap-path-prefix=$here=/shardy/wasm --remap-path-prefix=$target_dir=/shardy/target -C link-arg=-zstack-size=65536 -C target-feature=+bulk-memory,+simd128,+nontrapping-fptoint" \
CARGO_TARGET_DIR="$target_dir" \
    "$cargo" build --release --offline --locked --target wasm32-unknown-unknown
cp "$target_dir/wasm32-unknown-unknown/release/shardy_preprocess.wasm" "$out"
sha256sum "$out"
