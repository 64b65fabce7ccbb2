// Batched sampling of continuations for self-study: many prompts of
// different lengths (left-padded in one KVCache) continued in lockstep,
// each row with its own deterministic random stream, so that a conversation's
// text depends only on (seed, its index) and not on the batch it ran in.
#pragma once

#include <cstdint>
#include <vector>

namespace cdb {

class Transformer;
struct Cartridge;

struct SamplingSpec {
  double temperature = 0.0;  // <= 0: greedy
  std::vector<int32_t> stop_ids;  // generation of a row ends at one (not included)
  uint64_t seed = 0;
};

// Continues each context (non-empty) by up to max_new[i] tokens (>= 0);
// row i draws from SeededRng(seed, Sampling, row_ids[i] * 2^20 + t).
// Contexts + continuations must fit the model's window after `prefix`.
std::vector<std::vector<int32_t>> sample_continuations(Transformer& model,
                                                       const std::vector<std::vector<int32_t>>& contexts,
                                                       const std::vector<int64_t>& max_new,
                                                       const std::vector<uint64_t>& row_ids,
                                                       const SamplingSpec& spec,
                                                       const Cartridge* prefix = nullptr);

}  // namespace cdb
