#!/usr/bin/env bash
# The README's demo, run by `./cartridgedb.sh demo` after the build.
# Works on a fresh data directory under build/demo-data each time.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN="$ROOT/build/bin"
MODELS=${CDB_MODELS:-$ROOT/../shared/models}
DATA="$ROOT/build/demo-data"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if [[ ! -f "$MODELS/stories260K/stories260K.bin" ]]; then
  echo "demo: $MODELS/stories260K/stories260K.bin not found; set CDB_MODELS to the models directory" >&2
  exit 1
fi

rm -rf "$DATA"
step "A store: LMDB blobs + SQLite catalog in $DATA"
"$BIN/cartridge" store create "$DATA"
"$BIN/cartridge" store put "$DATA" --corpus stories --name lily.txt \
  --text "Lily had a red ball. She played with it in the park every day."
"$BIN/cartridge" store put "$DATA" --corpus stories --name tom.txt \
  --text "Tom found a small blue boat by the pond and gave it to his sister."
"$BIN/cartridge" store list "$DATA"
"$BIN/cartridge" store verify "$DATA"

step "The engine: stories260K, greedy, 200 positions (llama2.c's reference output)"
"$BIN/cartridge" generate --model "$MODELS/stories260K/stories260K.bin" \
  --tokenizer "$MODELS/stories260K/tok512.bin" --temperature 0 --steps 200
echo
