// The forward pass of a Llama-family model (Llama 2/3, Qwen2, Qwen3) with an
// optional Cartridge prefix: a trained KV cache that the queries attend to as
// if its corpus were in the context. In the spirit of gpt-fast's model.py and
// llama2.c's run.c, the whole transformer is in transformer.cpp.
//
// Positions: a Cartridge of p tokens occupies positions 0..p-1 (its keys are
// stored post-RoPE); the sequence's own tokens follow at p, p+1, ...
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/TensorOptions.h>

#include <vector>

#include "engine/cartridge.h"
#include "engine/decode_attention.h"
#include "engine/kv_cache.h"
#include "engine/kv_slots.h"
#include "engine/model_weights.h"
#include "engine/rope.h"

namespace cdb {

// One decode step of a continuous batch: N sequences, one new token each,
// whose own KV sits in rows 0..N-1 of a KVSlots pool.
struct DecodeBatch {
  at::Tensor tokens;     // [N] int64: the token each sequence feeds now
  at::Tensor lengths;    // [N] int64: tokens already in each row (a private prefix included)
  at::Tensor positions;  // [N] int64: RoPE position of the new token
  int64_t max_length = 0;  // max(lengths) (known to the caller; saves a device sync)
  // Cartridges shared by several rows, attended once per group (Hydragen):
  // the rows' queries are stacked into one matrix product against the
  // Cartridge, and merged with each row's own attention by log-sum-exp.
  struct Shared {
    const Cartridge* cartridge;
    at::Tensor rows;  // [n] int64, disjoint across groups
  };
  std::vector<Shared> shared;
};

class Transformer {
 public:
  // Moves/converts the weights to `device` and `dtype` only when they differ
  // (fp32 CPU weights of a memory-mapped checkpoint stay views of the file).
  // Raises LibTorch's intra-op thread count to the core count when it is 1.
  explicit Transformer(LoadedModel model, at::Device device = at::kCPU, at::ScalarType dtype = at::kFloat);

  const ModelConfig& config() const { return model_.config; }
  const LoadedModel& model() const { return model_; }
  at::Device device() const { return device_; }
  at::ScalarType dtype() const { return dtype_; }
  // Options for KV tensors and Cartridges used with this model.
  at::TensorOptions options() const { return at::TensorOptions().device(device_).dtype(dtype_); }

  // A cache for `batch` sequences of up to `capacity` tokens each.
  KVCache new_cache(int64_t batch, int64_t capacity) const;

  // tokens [B, T] (int64, any device). Row b's tokens take positions
  // prefix->tokens() + cache.length() - cache.padding()[b] + 0..T-1; their KV
  // is appended to `cache`. Returns fp32 logits [B, T, vocab], or [B, 1,
  // vocab] when last_only. Differentiable w.r.t. the prefix tensors when
  // called outside InferenceMode with requires_grad prefix tensors (one
  // forward per backward: the cache is written in place).
  //
  // Packing: with `segments` [B, T] (int64; an empty cache, no padding),
  // several sequences share a row: a token sees the prefix and the earlier
  // tokens of its own segment only, and each segment's positions restart at
  // prefix->tokens(), so every packed sequence reads as if it ran alone.
  // Padding is a segment of its own (any id not used by a real one).
  //
  // recompute_layers: activation checkpointing for training
  // (layer_checkpoint.h). With grad enabled and an empty cache, only each
  // layer's input is kept and the layer runs again in the backward pass;
  // the cache is then left empty (a recomputed layer cannot append twice).
  // Ignored otherwise.
  at::Tensor forward(const at::Tensor& tokens, KVCache& cache, const Cartridge* prefix = nullptr,
                     bool last_only = false, const at::Tensor& segments = {}, bool recompute_layers = false);

  // Appends each sequence's new token to its row of `kv` and returns fp32
  // logits [N, vocab]. Equal (to rounding) to forward() of each sequence
  // alone with its shared Cartridge as prefix.
  at::Tensor decode(const DecodeBatch& batch, KVSlots& kv);
  // How decode() attends to the sequences' own tokens (kAuto: the fused
  // CUDA kernel where it applies). kMatmul is the reference, for comparison.
  void set_decode_attention(DecodeAttention how) { decode_attention_ = how; }
  // Whether decode() over `kv` attends to own tokens with the fused kernel.
  bool decode_uses_fused_attention(const KVSlots& kv) const;

  // The KV of running `tokens` after `prefix` (from position 0 without one):
  // per layer [n_kv, n, hd], post-RoPE keys. The truncation baseline, and the
  // initialization of a Cartridge; compose(*prefix, result) then equals the
  // KV of the concatenated text.
  Cartridge prefill_cartridge(const std::vector<int32_t>& tokens, const Cartridge* prefix = nullptr);

 private:
  LoadedModel model_;
  at::Device device_;
  at::ScalarType dtype_;
  Rope rope_;
  DecodeAttention decode_attention_ = DecodeAttention::kAuto;
};

}  // namespace cdb
