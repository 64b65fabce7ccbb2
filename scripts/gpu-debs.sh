#!/usr/bin/env bash
# Run HERE (the Debian 12 dev machine): downloads the Debian packages that the
# build needs besides LibTorch into .devcarry/debs, so that they travel to a
# GPU machine (the `device` tool's `carry: [".devcarry"]`) which has PyTorch's
# CUDA LibTorch but not our other libraries. .devcarry/ is git-ignored.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="$ROOT/.devcarry/debs"
mkdir -p "$OUT"
PKGS=(pkgconf pkg-config libpkgconf3 liblmdb-dev liblmdb0 libzstd-dev libsqlite3-dev libxxhash-dev libxxhash0
      libsentencepiece-dev libsentencepiece0 nlohmann-json3-dev libpcre2-dev libpcre2-8-0
      libcxxopts-dev libgtest-dev libgmock-dev googletest libreadline-dev libreadline8
      libboost-dev libboost1.74-dev libutf8proc-dev libutf8proc2 ninja-build
      libncurses-dev libncurses6 libtinfo6 libncursesw6 libpq-dev libpq5 libpqxx-dev libpqxx-6.4)
cd "$OUT"
for p in "${PKGS[@]}"; do
  ls "${p}"_*.deb >/dev/null 2>&1 || apt-get download "$p" 2>/dev/null || echo "gpu-debs: could not download $p" >&2
done
du -sh "$OUT"
