// ZipfTrace: a stream of questions for the residency simulation. Corpus
// popularity follows Zipf's law: the corpus of popularity rank r (id r,
// 1-based) is named with probability proportional to 1 / r^exponent. Each
// question names 1 to max_corpora_per_question distinct corpora (the count
// uniform), in the random order a user would type them.
//
// Deterministic: the same options give the same questions on every machine
// (our own splitmix64 stream and inverse-CDF sampling, not a standard
// library distribution whose algorithm may differ between versions).
#pragma once

#include <cstdint>
#include <vector>

namespace cdb {

struct ZipfTraceOptions {
  int64_t corpora = 1000;
  double exponent = 1.0;  // 0: uniform
  int64_t max_corpora_per_question = 3;
  uint64_t seed = 1;

  // InvalidArgument, naming the flag's meaning, for corpora outside
  // [1, 100000000], an exponent outside [0, 10] or not finite, or a
  // max_corpora_per_question outside [1, 16] or above corpora.
  void validate() const;
};

class ZipfTrace {
 public:
  explicit ZipfTrace(ZipfTraceOptions options);

  // The next question: the corpus ids it names, distinct, in typed order.
  std::vector<int64_t> next();

  // The probability that one draw names corpus `id` (1-based).
  double probability(int64_t id) const;
  const ZipfTraceOptions& options() const { return options_; }

 private:
  uint64_t next_u64();
  int64_t draw();  // one corpus id by popularity

  ZipfTraceOptions options_;
  std::vector<double> cdf_;  // cdf_[r-1]: probability of a rank <= r
  uint64_t state_;
};

}  // namespace cdb
