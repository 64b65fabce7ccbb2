// Helpers shared by the bench programs: list options and random-weight
// models built in memory, directly on the device they run on.
#pragma once

#include <ATen/ATen.h>

#include <sstream>
#include <string>
#include <vector>

#include "engine/model_weights.h"
#include "engine/random_model.h"

namespace cdb::bench {

inline std::vector<int64_t> parse_list(const std::string& s) {
  std::vector<int64_t> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(std::stoll(item));
  return out;
}

// A model of a named shape (random_model_config) with its first `layers`
// layers (0: all), weights N(0, 0.02) created where they will run: speed
// and memory do not depend on the values, and an 8B model is built in
// seconds on a GPU instead of minutes through a file.
inline LoadedModel shaped_model(const std::string& shape, int64_t layers, at::Device device = at::kCPU,
                                at::ScalarType dtype = at::kFloat) {
  ModelConfig c = random_model_config(shape);
  if (layers > 0) c.n_layers = layers;
  c.weight_dtype = dtype == at::kBFloat16 ? "bf16" : dtype == at::kHalf ? "f16" : "f32";
  const auto opts = at::TensorOptions().device(device).dtype(dtype);
  auto r = [&](std::vector<int64_t> s) { return at::randn(s, opts) * 0.02; };
  auto ones = [&](int64_t n) { return at::ones({n}, opts); };
  LoadedModel m;
  m.config = c;
  const int64_t D = c.dim, q = c.n_heads * c.head_dim, kv = c.n_kv_heads * c.head_dim, F = c.hidden_dim;
  m.weights.tok_embeddings = r({c.vocab_size, D});
  for (int64_t l = 0; l < c.n_layers; ++l) {
    LayerWeights w;
    w.attn_norm = ones(D);
    w.ffn_norm = ones(D);
    w.wq = r({q, D}), w.wk = r({kv, D}), w.wv = r({kv, D}), w.wo = r({D, q});
    w.w_gate = r({F, D}), w.w_up = r({F, D}), w.w_down = r({D, F});
    if (c.qkv_bias) w.bq = r({q}), w.bk = r({kv}), w.bv = r({kv});
    if (c.qk_norm) w.q_norm = ones(c.head_dim), w.k_norm = ones(c.head_dim);
    m.weights.layers.push_back(w);
  }
  m.weights.norm = ones(D);
  m.weights.output = c.tied_embeddings ? m.weights.tok_embeddings : r({c.vocab_size, D});
  m.source = "random:" + shape;
  return m;
}

}  // namespace cdb::bench
