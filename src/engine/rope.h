// Rotary position embeddings: the cos/sin tables and their application to
// queries and keys, in both pairings (RopeStyle), with llama3 frequency
// scaling. Angles are computed in fp32 as llama2.c's run.c and Hugging Face
// do (position * inv_freq in fp32), so that logits match them closely.
#pragma once

#include <ATen/core/Tensor.h>

#include "engine/model_config.h"

namespace cdb {

// The inverse frequencies [head_dim/2] (fp32, CPU), llama3-scaled if asked.
at::Tensor rope_inv_freq(const ModelConfig& config);

class Rope {
 public:
  Rope(const ModelConfig& config, at::Device device);

  // cos and sin [..., head_dim/2] (fp32) for int64 positions of any shape.
  std::pair<at::Tensor, at::Tensor> tables(const at::Tensor& positions) const;

  // x [B, T, heads, head_dim]; cos/sin [B or 1, T, head_dim/2]. Returns x
  // rotated, in x's dtype.
  at::Tensor apply(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) const;

 private:
  RopeStyle style_;
  at::Tensor inv_freq_;  // [head_dim/2] fp32 on the device
};

}  // namespace cdb
