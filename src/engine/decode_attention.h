// Attention pieces of a decode step that are computed apart and merged
// exactly: each part returns its normalized output and the log-sum-exp of its
// scores, so that a shared Cartridge (one product for many sequences) and
// each sequence's own tokens combine as if attended together (Hydragen).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace cdb {

struct AttentionPartial {
  at::Tensor out;  // [..., rows, hd] fp32
  at::Tensor lse;  // [..., rows] fp32
};

// How a decode step attends to the sequences' own tokens.
enum class DecodeAttention {
  kAuto,    // the fused CUDA kernel where it applies (CUDA build, CUDA tensors,
            // head_dim 64 or 128, at most 8 query heads per KV head), else kMatmul
  kMatmul,  // LibTorch products over a padded view (the reference)
};

// q [..., R, hd] (pre-scaled), K/V [..., S, hd]; mask broadcastable to
// [..., R, S] (true = visible) or undefined.
AttentionPartial attend_part(const at::Tensor& q, const at::Tensor& K, const at::Tensor& V, const at::Tensor& mask);

// Softmax over the union of two key sets, from their partial results.
at::Tensor merge_parts(const AttentionPartial& a, const AttentionPartial& b);

// The queries q [N, KV, G, hd] (pre-scaled by 1/sqrt(hd)) of N sequences
// against their own keys: K, V [>= N, KV, capacity, hd] (rows of a KV pool;
// row i holds sequence i), of which row i sees tokens 0..lengths[i];
// `keys` = max(lengths) + 1. Returns out [N, KV, G, hd] and lse [N, KV, G].
// `unroll` (the kernel's keys per trip, 2 or 4; 0 = its default) is for
// benchmarks.
AttentionPartial attend_own_tokens(const at::Tensor& q, const at::Tensor& K, const at::Tensor& V,
                                   const at::Tensor& lengths, int64_t keys, DecodeAttention how, int unroll = 0);

// Whether attend_own_tokens(..., kAuto) runs the fused kernel for these tensors.
bool fused_decode_attention_applies(const at::Tensor& q, const at::Tensor& K, const at::Tensor& V);

}  // namespace cdb
