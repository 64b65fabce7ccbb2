#include "train/chunker.h"

#include <algorithm>
#include <string>

#include "common/error.h"
#include "train/seeded_rng.h"

namespace cdb {

Chunker::Chunker(int64_t corpus_tokens, int64_t min_tokens, int64_t max_tokens)
    : corpus_(corpus_tokens) {
  if (corpus_tokens < 1) throw InvalidArgument("Chunker: the corpus has no tokens");
  if (max_tokens < 1 || min_tokens > max_tokens)
    throw InvalidArgument("Chunker: chunk length range [" + std::to_string(min_tokens) + ", " +
                          std::to_string(max_tokens) + "] is empty; pass min <= max and max >= 1");
  max_ = std::min(max_tokens, corpus_tokens);
  min_ = std::clamp<int64_t>(min_tokens, 1, max_);
}

ChunkSpan Chunker::sample(SeededRng& rng) const {
  int64_t len = min_ + static_cast<int64_t>(rng.below(static_cast<uint64_t>(max_ - min_ + 1)));
  int64_t begin = static_cast<int64_t>(rng.below(static_cast<uint64_t>(corpus_ - len + 1)));
  return {begin, begin + len};
}

}  // namespace cdb
