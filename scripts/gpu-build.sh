#!/usr/bin/env bash
# Run THERE (a GPU machine with PyTorch): unpacks the carried Debian packages
# into .devcarry/root (never into /), then configures and builds build-gpu/
# against PyTorch's CUDA LibTorch. Usage: scripts/gpu-build.sh [targets...]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PREFIX="$ROOT/.devcarry/root"
if [[ ! -d "$PREFIX/usr" ]]; then
  mkdir -p "$PREFIX"
  for f in "$ROOT"/.devcarry/debs/*.deb; do dpkg -x "$f" "$PREFIX"; done
fi
export PATH="$PREFIX/usr/bin:$PATH"
export PKG_CONFIG_PATH="$PREFIX/usr/lib/x86_64-linux-gnu/pkgconfig:$PREFIX/usr/share/pkgconfig:${PKG_CONFIG_PATH:-}"
export LD_LIBRARY_PATH="$PREFIX/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
# pkg-config files name /usr as their prefix; redirect them into the unpacked tree.
export PKG_CONFIG_SYSROOT_DIR="$PREFIX"
TORCH_DIR=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
GEN=(); command -v ninja >/dev/null && GEN=(-G Ninja)
cmake -S "$ROOT" -B "$ROOT/build-gpu" "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DCDB_TORCH_DIR="$TORCH_DIR" -DCMAKE_PREFIX_PATH="$PREFIX/usr;$PREFIX/usr/lib/x86_64-linux-gnu/cmake" \
  -DCMAKE_CUDA_ARCHITECTURES=90 -DCDB_BUILD_TESTS=ON
cmake --build "$ROOT/build-gpu" -j "$(nproc)" ${1:+--target "$@"}
