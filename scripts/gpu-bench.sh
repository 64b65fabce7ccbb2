#!/usr/bin/env bash
# Run THERE (a GPU machine, after scripts/gpu-debs.sh here and with .devcarry
# carried): builds the CUDA variant of the engine tests and throughput_bench,
# runs the CUDA tests, then the GPU figures of README's throughput table,
# most important first (CDB_GPU_HF=1 adds Hugging Face generate's). Logs and JSON go to $1 (default: ./gpu-out).
# Each step has its own time limit, and the optional ones start only while
# the whole run is under $2 seconds (default 480), so that a slow machine
# still returns the first results within the device tool's limits.
#
# Here:  rm -rf .devcarry/src && mkdir -p .devcarry/src/.devcarry &&
#        git archive HEAD | tar -x -C .devcarry/src     (models/ ships stories260K)
# There (device tool, carry [".devcarry"]):
#        D=$PWD/.devcarry; ln -sfn $D/debs $D/src/.devcarry/debs; bash $D/src/scripts/gpu-bench.sh $OUT
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT_DIR=${1:-$ROOT/gpu-out}
DEADLINE=${2:-480}
mkdir -p "$OUT_DIR"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT_DIR/gpu.txt"
SECONDS=0
if ! bash "$ROOT/scripts/gpu-build.sh" engine_tests throughput_bench decode_attention_bench selfstudy_bench >"$OUT_DIR/build.log" 2>&1; then
  grep -E "error|Error" "$OUT_DIR/build.log" | head -20
  exit 1
fi
echo "build: ${SECONDS}s"
BIN=$ROOT/build-gpu/bin
timeout 120 "$BIN/engine_tests" --gtest_filter='Cuda*' >"$OUT_DIR/engine.log" 2>&1
echo "engine_tests Cuda* rc=$? $(grep -E '^\[  (PASSED|FAILED)' "$OUT_DIR/engine.log" | tr '\n' ' ')"
grep -E "Failure|FAILED  \]" -A3 "$OUT_DIR/engine.log" | head -20
# KV budget: the card's memory less the weights and ~22 GB for activations
# (the shared-prefix scores of a 256-row batch over 128k tokens take ~11 GB).
MEM_GB=$(nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits | head -1 | awk '{printf "%d", $1*1.048576/1000}')
budget() { awk -v m="$MEM_GB" -v w="$1" 'BEGIN{printf "%.0f", m-w-22}'; }
B3=$(budget 6.4) B8=$(budget 16.1)
bench() {  # name, limit, args...
  local name=$1 limit=$2; shift 2
  if (( SECONDS > DEADLINE )); then echo "$name: skipped (${SECONDS}s > ${DEADLINE}s)"; return; fi
  timeout "$limit" "$BIN/throughput_bench" --device cuda "$@" >"$OUT_DIR/$name.txt" 2>&1
  echo "== $name rc=$? (${SECONDS}s)"; grep -E "tok/s|x$|attention" "$OUT_DIR/$name.txt"
}
# The attention kernel alone, at the shapes below (Llama 3.2 3B and 3.1 8B
# at the Cartridge's 2048 + 160 tokens, and ICL at 128k).
i=0
for shape in "--rows 256 --groups 3" "--rows 64 --groups 4" "--rows 7 --groups 3 --keys 131072"; do
  i=$((i + 1))
  timeout 60 "$BIN/decode_attention_bench" --device cuda $shape >"$OUT_DIR/attention-$i.txt" 2>&1
  grep -vE '^\{' "$OUT_DIR/attention-$i.txt"
done
# Decode bandwidth at batch >= 64: CUDA graphs on and off.
bench 3b-cartridge 60 --model llama-3.2-3b --budget-gb "$B3" --max-batch 256 --sharing distinct --contexts=
bench 3b-cartridge-eager 60 --model llama-3.2-3b --budget-gb "$B3" --max-batch 256 --sharing distinct --contexts= --graphs off
bench 8b-batch64 60 --model llama-3.1-8b --budget-gb 100 --max-batch 64 --sharing distinct --contexts=
bench 8b-batch64-eager 60 --model llama-3.1-8b --budget-gb 100 --max-batch 64 --sharing distinct --contexts= --graphs off
# Weights alone (a 16-token Cartridge): what the attention costs on top.
bench 8b-batch64-weights 60 --model llama-3.1-8b --budget-gb 100 --max-batch 64 --sharing distinct --contexts= --cartridge-tokens 16
# Self-study cost (issue 19): a slice of a Llama-8B-shaped Cartridge job
# (128k-token corpus, p = 2048): 5% of 8,192 conversations and 50 training
# steps, measured; the whole job projected from their rates. 3B first.
selfstudy() {  # name, limit, args...
  local name=$1 limit=$2; shift 2
  if (( SECONDS > DEADLINE )); then echo "$name: skipped (${SECONDS}s > ${DEADLINE}s)"; return; fi
  timeout "$limit" "$BIN/selfstudy_bench" --cost --device cuda --dtype bf16 --layers 0 --corpus-tokens 131072 \
    --max-chunk-tokens 4096 --p 2048 --batch 256 --conversations-per-chunk 8 --max-tokens 256 --json "$@" \
    >"$OUT_DIR/$name.txt" 2>&1
  echo "== $name rc=$? (${SECONDS}s)"; grep -vE '^\{' "$OUT_DIR/$name.txt" | tail -5
}
selfstudy selfstudy-3b 150 --shape llama-3.2-3b --conversations 410 --project-conversations 8192 --train-steps 50 --project-steps 1000
selfstudy selfstudy-8b 200 --shape llama-3.1-8b --conversations 410 --project-conversations 8192 --train-steps 50 --project-steps 1000
if [[ ${CDB_GPU_HF:-0} == 1 ]] && (( SECONDS <= DEADLINE )); then
  PYTHONUNBUFFERED=1 timeout 150 python3 "$ROOT/bench/hf_baseline.py" --shape llama-3.1-8b --batch 64 --prefix 2048 \
    >"$OUT_DIR/hf-8b-batch64.json" 2>"$OUT_DIR/hf.err"
  echo "== hf rc=$? (${SECONDS}s)"; tail -1 "$OUT_DIR/hf-8b-batch64.json"; grep -v Warning "$OUT_DIR/hf.err" | tail -3
fi
bench table-llama-3.2-3b 200 --model llama-3.2-3b --budget-gb "$B3" --max-batch 256
bench table-llama-3.1-8b 200 --model llama-3.1-8b --budget-gb "$B8" --max-batch 256
echo "total: ${SECONDS}s"
