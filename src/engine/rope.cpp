#include "engine/rope.h"

#include <ATen/ATen.h>

#include <cmath>

#include "common/error.h"

namespace cdb {

at::Tensor rope_inv_freq(const ModelConfig& c) {
  if (c.head_dim <= 0 || c.head_dim % 2 != 0)
    throw InvalidArgument("RoPE needs an even head_dim, got " + std::to_string(c.head_dim));
  auto f32 = at::TensorOptions().dtype(at::kFloat);
  // theta^(-2i/d), in fp32 like llama2.c (powf) and HF (float pow).
  at::Tensor exponent = at::arange(0, c.head_dim, 2, at::TensorOptions().dtype(at::kLong)).to(at::kFloat) /
                        static_cast<float>(c.head_dim);
  at::Tensor inv_freq = 1.0 / at::pow(at::scalar_tensor(static_cast<float>(c.rope_theta), f32), exponent);
  const RopeScaling& s = c.rope_scaling;
  if (s.type == "none" || s.type.empty() || s.type == "default") return inv_freq;
  if (s.type != "llama3") throw Unsupported("rope_scaling type '" + s.type + "' is not supported (only llama3)");
  // Llama 3.1: long wavelengths are divided by `factor`, short ones kept,
  // and the band between them interpolated smoothly.
  const double old_len = static_cast<double>(s.original_max_position_embeddings);
  const double low_wavelen = old_len / s.low_freq_factor;
  const double high_wavelen = old_len / s.high_freq_factor;
  at::Tensor wavelen = 2 * M_PI / inv_freq;
  at::Tensor scaled = at::where(wavelen > low_wavelen, inv_freq / s.factor, inv_freq);
  at::Tensor smooth = (old_len / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
  at::Tensor smoothed = (1 - smooth) * scaled / s.factor + smooth * scaled;
  at::Tensor medium = (wavelen >= high_wavelen).logical_and(wavelen <= low_wavelen);
  return at::where(medium, smoothed, scaled).to(at::kFloat);
}

Rope::Rope(const ModelConfig& config, at::Device device)
    : style_(config.rope_style), inv_freq_(rope_inv_freq(config).to(device)) {}

std::pair<at::Tensor, at::Tensor> Rope::tables(const at::Tensor& positions) const {
  at::Tensor angles = positions.to(at::kFloat).unsqueeze(-1) * inv_freq_;
  return {angles.cos(), angles.sin()};
}

at::Tensor Rope::apply(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) const {
  const int64_t half = x.size(-1) / 2;
  at::Tensor c = cos.unsqueeze(2), s = sin.unsqueeze(2);  // broadcast over heads
  at::Tensor xf = x.to(at::kFloat);
  at::Tensor out;
  if (style_ == RopeStyle::Interleaved) {
    // Pairs (0,1), (2,3), ...: view the last axis as [half, 2].
    at::Tensor pairs = xf.unflatten(-1, {half, 2});
    at::Tensor a = pairs.select(-1, 0), b = pairs.select(-1, 1);
    out = at::stack({a * c - b * s, a * s + b * c}, -1).flatten(-2);
  } else {
    at::Tensor a = xf.narrow(-1, 0, half), b = xf.narrow(-1, half, half);
    out = at::cat({a * c - b * s, b * c + a * s}, -1);
  }
  return out.to(x.scalar_type());
}

}  // namespace cdb
