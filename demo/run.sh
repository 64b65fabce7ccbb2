#!/usr/bin/env bash
# The README's demo, run by `./cartridgedb.sh demo` after the build: two
# corpora of short stories (demo/data/farm, demo/data/sea), their Cartridges
# trained on stories260K in the background while a question is served, then
# EXPLAIN ASK and ASK with each corpus alone and with both.
# Works on a fresh data directory under build/demo-data each time.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${CDB_BIN:-$ROOT/build/bin}
MODELS=${CDB_MODELS:-$ROOT/models}
DATA="$ROOT/build/demo-data"
# Training size: about half a minute per corpus on two CPU cores.
STEPS=${DEMO_STEPS:-80}
TRAIN="WITH (steps = $STEPS, conversations = 32, batch_size = 8, max_new_tokens = 48, checkpoint_every = 10)"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
cdb() { "$BIN/cartridge" exec "$DATA" "$@"; }

if [[ ! -f "$MODELS/stories260K/stories260K.bin" ]]; then
  echo "demo: $MODELS/stories260K/stories260K.bin not found; set CDB_MODELS to the models directory" >&2
  exit 1
fi
rm -rf "$DATA"

step "Two corpora from demo/data (the data directory records the model)"
cdb --model "$MODELS/stories260K/stories260K.bin" --tokenizer "$MODELS/stories260K/tok512.bin" -c "
  CREATE CORPUS farm WITH (description = 'Stories about Benny the goat and Tilly the hen', cartridge_tokens = 32);
  CREATE CORPUS sea WITH (description = 'Stories about Finn the fish and Coral the crab', cartridge_tokens = 32);
  LOAD DIRECTORY '$ROOT/demo/data/farm' PATTERN '*.txt' INTO farm;
  LOAD DIRECTORY '$ROOT/demo/data/sea' PATTERN '*.txt' INTO sea;
  SHOW CORPORA;
  SHOW MODEL;"

step "Training both Cartridges in the background; questions are still served (in context)"
cdb -c "
  TRAIN CARTRIDGE FOR farm $TRAIN;
  TRAIN CARTRIDGE FOR sea $TRAIN;
  EXPLAIN ASK 'Benny the goat' USING farm;
  ASK 'Benny the goat' USING farm WITH (max_tokens = 40);
  WAIT JOB 1;
  WAIT JOB 2;
  SHOW JOBS;
  SHOW CARTRIDGES;"

for corpora in "farm" "sea" "farm, sea"; do
  case $corpora in
    farm) q='Benny the goat' ;;
    sea) q='Finn the fish' ;;
    *) q='Finn and Benny' ;;
  esac
  step "USING $corpora"
  printf 'Q: %s ...\n' "$q"
  cdb -c "
    EXPLAIN ASK '$q' USING $corpora;
    ASK '$q' USING $corpora WITH (max_tokens = 60);"
done

step "In context instead, for comparison: one corpus fits the 512-token window, both do not"
cdb -c "ASK 'Benny the goat' USING farm WITH (max_tokens = 60, mode = 'icl');"
cdb -c "EXPLAIN ASK 'Finn and Benny' USING farm, sea WITH (mode = 'icl');" || true
