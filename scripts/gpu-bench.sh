#!/usr/bin/env bash
# Run THERE (a GPU machine, after scripts/gpu-debs.sh here and with .devcarry
# carried): builds the CUDA variant, runs the engine and scheduler tests on
# the device and the GPU benchmarks of README's throughput table. Logs and
# JSON go to $1 (default: ./gpu-out). Each step has its own time limit so
# that one slow step still leaves the others' results.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT_DIR=${1:-$ROOT/gpu-out}
mkdir -p "$OUT_DIR"
export CDB_MODELS=${CDB_MODELS:-$ROOT/.devcarry/models}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT_DIR/gpu.txt"
SECONDS=0
if ! bash "$ROOT/scripts/gpu-build.sh" engine_tests scheduler_tests throughput_bench >"$OUT_DIR/build.log" 2>&1; then
  grep -E "error|Error" "$OUT_DIR/build.log" | head -20
  exit 1
fi
echo "build: ${SECONDS}s"
BIN=$ROOT/build-gpu/bin
timeout 120 "$BIN/engine_tests" --gtest_filter='Cuda*:Transformer*:Generate*:-*Cli*' >"$OUT_DIR/engine.log" 2>&1
echo "engine_tests rc=$? $(grep -E '^\[  (PASSED|FAILED)' "$OUT_DIR/engine.log" | tr '\n' ' ')"
timeout 120 "$BIN/scheduler_tests" >"$OUT_DIR/scheduler.log" 2>&1
echo "scheduler_tests rc=$? $(grep -E '^\[  (PASSED|FAILED)' "$OUT_DIR/scheduler.log" | tr '\n' ' ')"
# KV budget: the card's memory less the weights and ~22 GB for activations
# (the shared-prefix scores of a 256-row batch over 128k tokens take ~11 GB).
MEM_GB=$(nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits | head -1 | awk '{printf "%d", $1*1.048576/1000}')
for spec in llama-3.1-8b:16.1 llama-3.2-3b:6.4; do
  shape=${spec%%:*}
  budget=$(awk -v m="$MEM_GB" -v w="${spec##*:}" 'BEGIN{printf "%.0f", m-w-22}')
  timeout 200 "$BIN/throughput_bench" --device cuda --model "$shape" --budget-gb "$budget" --max-batch 256 \
    >"$OUT_DIR/throughput-$shape.txt" 2>&1
  echo "throughput $shape (budget ${budget} GB) rc=$?"
  grep -E "tok/s|x$" "$OUT_DIR/throughput-$shape.txt"
done
# Same shape and batch as Hugging Face generate() with a 2048-token KV prefix.
timeout 60 "$BIN/throughput_bench" --device cuda --model llama-3.1-8b --budget-gb 100 --max-batch 64 \
  --contexts 8192 --sharing distinct >"$OUT_DIR/throughput-8b-batch64.txt" 2>&1
grep -E "cartridge.*tok/s" "$OUT_DIR/throughput-8b-batch64.txt"
PYTHONUNBUFFERED=1 timeout 150 python3 "$ROOT/bench/hf_baseline.py" --shape llama-3.1-8b --batch 64 --prefix 2048 \
  >"$OUT_DIR/hf-8b-batch64.json" 2>"$OUT_DIR/hf.err"
echo "hf rc=$?"; tail -1 "$OUT_DIR/hf-8b-batch64.json"; tail -3 "$OUT_DIR/hf.err"
echo "total: ${SECONDS}s"
