#include "train/continuation_sampler.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "engine/transformer.h"
#include "train/seeded_rng.h"

namespace cdb {
namespace {

int32_t pick(const float* logits, int64_t V, double temperature, SeededRng rng) {
  if (temperature <= 0) return static_cast<int32_t>(std::max_element(logits, logits + V) - logits);
  // Softmax in double: the same logits give the same token on any build.
  double mx = *std::max_element(logits, logits + V);
  std::vector<double> w(static_cast<size_t>(V));
  double sum = 0;
  for (int64_t i = 0; i < V; ++i) sum += (w[static_cast<size_t>(i)] = std::exp((logits[i] - mx) / temperature));
  double u = rng.uniform() * sum, acc = 0;
  for (int64_t i = 0; i < V; ++i) {
    acc += w[static_cast<size_t>(i)];
    if (u < acc) return static_cast<int32_t>(i);
  }
  return static_cast<int32_t>(V - 1);
}

}  // namespace

std::vector<std::vector<int32_t>> sample_continuations(Transformer& model,
                                                       const std::vector<std::vector<int32_t>>& contexts,
                                                       const std::vector<int64_t>& max_new,
                                                       const std::vector<uint64_t>& row_ids,
                                                       const SamplingSpec& spec, const Cartridge* prefix) {
  const int64_t B = static_cast<int64_t>(contexts.size());
  if (max_new.size() != contexts.size() || row_ids.size() != contexts.size())
    throw InvalidArgument("sample_continuations: contexts, max_new and row_ids differ in length");
  std::vector<std::vector<int32_t>> out(static_cast<size_t>(B));
  if (B == 0) return out;
  int64_t L = 0, M = 0;
  for (int64_t b = 0; b < B; ++b) {
    if (contexts[static_cast<size_t>(b)].empty()) throw InvalidArgument("sample_continuations: an empty context");
    L = std::max<int64_t>(L, static_cast<int64_t>(contexts[static_cast<size_t>(b)].size()));
    M = std::max(M, max_new[static_cast<size_t>(b)]);
  }
  if (M == 0) return out;
  const int64_t P = prefix ? prefix->tokens() : 0;
  for (int64_t b = 0; b < B; ++b)
    if (P + static_cast<int64_t>(contexts[static_cast<size_t>(b)].size()) + max_new[static_cast<size_t>(b)] >
        model.config().max_seq_len)
      throw InvalidArgument("sample_continuations: row " + std::to_string(b) + " would run past the model's " +
                            std::to_string(model.config().max_seq_len) + "-token window");
  at::InferenceMode guard;
  at::Tensor tok = at::zeros({B, L}, at::kLong), pad = at::zeros({B}, at::kLong);
  for (int64_t b = 0; b < B; ++b) {
    const auto& c = contexts[static_cast<size_t>(b)];
    int64_t p = L - static_cast<int64_t>(c.size());
    pad[b] = p;
    for (size_t i = 0; i < c.size(); ++i) tok[b][p + static_cast<int64_t>(i)] = c[i];
  }
  KVCache cache = model.new_cache(B, L + M);
  cache.set_padding(pad.to(model.device()));
  at::Tensor logits = model.forward(tok.to(model.device()), cache, prefix, /*last_only=*/true);
  std::vector<bool> done(static_cast<size_t>(B), false);
  const int64_t V = model.config().vocab_size;
  for (int64_t t = 0; t < M; ++t) {
    at::Tensor lg = logits.select(1, logits.size(1) - 1).to(at::kCPU, at::kFloat).contiguous();
    const float* lp = lg.data_ptr<float>();
    at::Tensor next = at::zeros({B, 1}, at::kLong);
    bool any = false;
    for (int64_t b = 0; b < B; ++b) {
      auto ub = static_cast<size_t>(b);
      if (done[ub] || t >= max_new[ub]) {
        done[ub] = true;
        continue;
      }
      int32_t id = pick(lp + b * lg.size(1), V, spec.temperature,
                        SeededRng(spec.seed, RngStream::Sampling, (row_ids[ub] << 20) + static_cast<uint64_t>(t)));
      if (std::find(spec.stop_ids.begin(), spec.stop_ids.end(), id) != spec.stop_ids.end()) {
        done[ub] = true;
        continue;
      }
      out[ub].push_back(id);
      next[b][0] = id;
      any = true;
    }
    if (!any || t + 1 == M) break;
    logits = model.forward(next.to(model.device()), cache, prefix, /*last_only=*/true);
  }
  return out;
}

}  // namespace cdb
