// Which examples a training step reads: a pure function of (seed, step), so
// that a resumed run reads exactly what an uninterrupted one would have,
// with no iterator state to checkpoint. Examples are visited epoch by epoch,
// each epoch in its own seeded permutation.
#pragma once

#include <cstdint>
#include <vector>

namespace cdb {

// The `count` example indices of global sample slots [first, first+count)
// over a dataset of n examples (n > 0).
std::vector<int64_t> sample_indices(uint64_t seed, int64_t n, int64_t first, int64_t count);

}  // namespace cdb
