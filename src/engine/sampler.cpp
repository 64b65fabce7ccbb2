#include "engine/sampler.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/error.h"

namespace cdb {

int32_t argmax(const float* logits, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (logits[i] > logits[best]) best = i;
  return static_cast<int32_t>(best);
}

Sampler::Sampler(const SamplingParams& params)
    // xorshift never leaves state 0; map seed 0 to a fixed non-zero state.
    : params_(params), state_(params.seed != 0 ? params.seed : 0x9E3779B97F4A7C15ull) {
  if (!(params.temperature >= 0.0f) || !std::isfinite(params.temperature))
    throw InvalidArgument("temperature must be finite and >= 0, got " + std::to_string(params.temperature));
  if (!std::isfinite(params.top_p)) throw InvalidArgument("top_p must be finite");
}

float Sampler::random_f32() {
  // llama2.c's random_u32 / random_f32: xorshift64*, top 24 bits.
  state_ ^= state_ >> 12;
  state_ ^= state_ << 25;
  state_ ^= state_ >> 27;
  const auto u32 = static_cast<uint32_t>((state_ * 0x2545F4914F6CDD1Dull) >> 32);
  return static_cast<float>(u32 >> 8) / 16777216.0f;
}

int32_t Sampler::sample(const at::Tensor& logits) {
  at::Tensor cpu = logits.detach().to(at::kCPU, at::kFloat).contiguous();
  return sample(cpu.data_ptr<float>(), cpu.numel());
}

int32_t Sampler::sample(const float* logits, int64_t n) {
  if (n <= 0) throw InvalidArgument("Sampler::sample: empty logits");
  if (params_.temperature == 0.0f || params_.top_k == 1) return argmax(logits, n);

  // Softmax of logits / temperature, in fp32 like llama2.c.
  probs_.assign(logits, logits + n);
  for (float& p : probs_) p /= params_.temperature;
  if (params_.top_k > 0 && params_.top_k < n) {
    // Keep the k largest (ties at the threshold all stay).
    std::vector<float> sorted(probs_);
    std::nth_element(sorted.begin(), sorted.begin() + (params_.top_k - 1), sorted.end(), std::greater<float>());
    const float kth = sorted[static_cast<size_t>(params_.top_k - 1)];
    for (float& p : probs_)
      if (p < kth) p = -std::numeric_limits<float>::infinity();
  }
  const float max = *std::max_element(probs_.begin(), probs_.end());
  float sum = 0.0f;
  for (float& p : probs_) {
    p = std::exp(p - max);
    sum += p;
  }
  for (float& p : probs_) p /= sum;

  const float coin = random_f32();
  if (params_.top_p <= 0.0f || params_.top_p >= 1.0f) {
    float cdf = 0.0f;
    for (int64_t i = 0; i < n; ++i) {
      cdf += probs_[static_cast<size_t>(i)];
      if (coin < cdf) return static_cast<int32_t>(i);
    }
    return static_cast<int32_t>(n - 1);  // rounding
  }
  // Top-p: the smallest set of most likely tokens whose mass exceeds top_p.
  // Tokens below (1 - top_p) / (n - 1) can never be in it; skip them before
  // sorting (llama2.c's trick).
  const float cutoff = (1.0f - params_.top_p) / static_cast<float>(n - 1);
  candidates_.clear();
  for (int64_t i = 0; i < n; ++i)
    if (probs_[static_cast<size_t>(i)] >= cutoff)
      candidates_.emplace_back(probs_[static_cast<size_t>(i)], static_cast<int32_t>(i));
  if (candidates_.empty()) return argmax(probs_.data(), n);  // tiny vocab, tiny top_p
  std::sort(candidates_.begin(), candidates_.end(),
            [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
  float cumulative = 0.0f;
  size_t last = candidates_.size() - 1;
  for (size_t i = 0; i < candidates_.size(); ++i) {
    cumulative += candidates_[i].first;
    if (cumulative > params_.top_p) {
      last = i;
      break;
    }
  }
  const float r = coin * cumulative;
  float cdf = 0.0f;
  for (size_t i = 0; i <= last; ++i) {
    cdf += candidates_[i].first;
    if (r < cdf) return candidates_[i].second;
  }
  return candidates_[last].second;
}

}  // namespace cdb
