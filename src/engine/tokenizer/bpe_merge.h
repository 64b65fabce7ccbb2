// The BPE merge loop shared by the llama2.c and tokenizer.json tokenizers.
// Both repeatedly merge the best adjacent pair (ties: leftmost); a heap of
// candidate pairs makes that O(n log n) instead of llama2.c's O(n^2) rescan,
// with identical results.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace cdb {

struct BpeMergeCandidate {
  double priority;  // higher merges first
  int32_t merged_id;
};

// Rewrites `ids` in place. `lookup(a, b)` says whether the adjacent pair
// (a, b) merges, how eagerly, and into which id.
void bpe_merge(std::vector<int32_t>& ids,
               const std::function<std::optional<BpeMergeCandidate>(int32_t, int32_t)>& lookup);

}  // namespace cdb
