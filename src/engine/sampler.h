// Picks the next token from logits: greedy, or temperature sampling with
// optional top-k and top-p (nucleus). Each Sampler owns its random state
// (llama2.c's xorshift64*), so a seed reproduces a run exactly, independent of
// any other sampler or thread; with top_k off, the same seed, temperature and
// top_p draw the same tokens as llama2.c's `run -s SEED -t T -p P`.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace cdb {

struct SamplingParams {
  float temperature = 1.0f;  // 0: greedy (argmax, lowest id on ties)
  float top_p = 1.0f;        // nucleus mass; <= 0 or >= 1: off
  int64_t top_k = 0;         // keep the k most likely; <= 0: off
  uint64_t seed = 0;         // 0 is a fixed seed like any other
};

class Sampler {
 public:
  explicit Sampler(const SamplingParams& params);

  // Whether sample() is the argmax (temperature 0 or top_k 1).
  bool greedy() const { return params_.temperature == 0.0f || params_.top_k == 1; }

  // logits [vocab] (any device and float dtype; copied to the CPU).
  int32_t sample(const at::Tensor& logits);
  int32_t sample(const float* logits, int64_t n);

 private:
  float random_f32();

  SamplingParams params_;
  uint64_t state_;
  std::vector<float> probs_;
  std::vector<std::pair<float, int32_t>> candidates_;
};

// Index of the largest logit (the first one on ties, as llama2.c).
int32_t argmax(const float* logits, int64_t n);

}  // namespace cdb
