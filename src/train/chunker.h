// Random windows of a tokenized corpus: what the teacher sees in context
// while it writes and answers a synthetic conversation.
#pragma once

#include <cstdint>
#include <vector>

namespace cdb {

class SeededRng;

struct ChunkSpan {
  int64_t begin = 0;  // token offsets into the corpus, [begin, end)
  int64_t end = 0;
  int64_t size() const { return end - begin; }
};

class Chunker {
 public:
  // Windows have between min_tokens and max_tokens tokens, both clipped to
  // the corpus length (a short corpus yields itself). InvalidArgument on an
  // empty corpus or min_tokens > max_tokens or max_tokens < 1.
  Chunker(int64_t corpus_tokens, int64_t min_tokens, int64_t max_tokens);

  // A uniformly random length in [min, max], then a uniformly random start.
  ChunkSpan sample(SeededRng& rng) const;

  int64_t min_tokens() const { return min_; }
  int64_t max_tokens() const { return max_; }

 private:
  int64_t corpus_;
  int64_t min_;
  int64_t max_;
};

}  // namespace cdb
