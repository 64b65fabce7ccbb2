// The tensors of a Llama-family model in one place. Linear weights are in the
// Hugging Face / PyTorch layout [out_features, in_features] (y = x W^T),
// which is also llama2.c's row-major layout. Optional tensors (biases,
// q/k norms) are undefined when the architecture has none.
#pragma once

#include <ATen/core/Tensor.h>

#include <array>
#include <memory>
#include <vector>

#include "engine/model_config.h"

namespace cdb {

struct LayerWeights {
  at::Tensor attn_norm;   // [dim]
  at::Tensor wq;          // [n_heads*head_dim, dim]
  at::Tensor wk;          // [n_kv_heads*head_dim, dim]
  at::Tensor wv;          // [n_kv_heads*head_dim, dim]
  at::Tensor wo;          // [dim, n_heads*head_dim]
  at::Tensor bq, bk, bv;  // Qwen2 only
  at::Tensor q_norm, k_norm;  // Qwen3 only: [head_dim]
  at::Tensor ffn_norm;    // [dim]
  at::Tensor w_gate;      // [hidden_dim, dim]   (llama2.c w1)
  at::Tensor w_down;      // [dim, hidden_dim]   (llama2.c w2)
  at::Tensor w_up;        // [hidden_dim, dim]   (llama2.c w3)

  // Every tensor of the layer (undefined ones included), for code that
  // treats them alike: device moves, byte counts.
  std::array<at::Tensor*, 14> all() {
    return {&attn_norm, &wq, &wk, &wv, &wo, &bq, &bk, &bv, &q_norm, &k_norm, &ffn_norm, &w_gate, &w_down, &w_up};
  }
  std::array<const at::Tensor*, 14> all() const {
    return {&attn_norm, &wq, &wk, &wv, &wo, &bq, &bk, &bv, &q_norm, &k_norm, &ffn_norm, &w_gate, &w_down, &w_up};
  }
};

struct ModelWeights {
  at::Tensor tok_embeddings;  // [vocab, dim]
  std::vector<LayerWeights> layers;
  at::Tensor norm;            // [dim]
  at::Tensor output;          // [vocab, dim]; same storage as tok_embeddings when tied
  // Keeps memory-mapped files alive for tensors that point into them.
  std::shared_ptr<const void> backing;
};

// A loaded model: its configuration, weights, and where it came from.
struct LoadedModel {
  ModelConfig config;
  ModelWeights weights;
  std::string source;  // file or directory it was loaded from
};

}  // namespace cdb
