// Deterministic randomness for self-study. Every random choice (chunk,
// seed prompt, sampled token, data order) is drawn from a generator that is
// a pure function of (seed, stream, index), so that any step can be redone
// from its coordinates alone: a resumed run needs no saved RNG state, and the
// results do not depend on the standard library's distributions.
#pragma once

#include <cstdint>

namespace cdb {

enum class RngStream : uint64_t {
  Chunk = 1,
  SeedPrompt = 2,
  Sampling = 3,
  DataOrder = 4,
  Heldout = 5,
};

// splitmix64-based generator; cheap to create, so callers make one per item.
class SeededRng {
 public:
  SeededRng(uint64_t seed, RngStream stream, uint64_t index);

  uint64_t next();
  // Uniform in [0, n); n must be > 0. (Lemire's multiply-shift; the tiny
  // bias for huge n is irrelevant here and keeps it branch-free.)
  uint64_t below(uint64_t n);
  // Uniform in [0, 1) with 53 random bits.
  double uniform();

 private:
  uint64_t state_;
};

}  // namespace cdb
