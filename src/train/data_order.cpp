#include "train/data_order.h"

#include <numeric>
#include <utility>

#include "common/error.h"
#include "train/seeded_rng.h"

namespace cdb {
namespace {

std::vector<int64_t> epoch_permutation(uint64_t seed, int64_t n, int64_t epoch) {
  std::vector<int64_t> p(static_cast<size_t>(n));
  std::iota(p.begin(), p.end(), 0);
  SeededRng rng(seed, RngStream::DataOrder, static_cast<uint64_t>(epoch));
  for (int64_t i = n - 1; i > 0; --i)  // Fisher-Yates
    std::swap(p[static_cast<size_t>(i)], p[rng.below(static_cast<uint64_t>(i + 1))]);
  return p;
}

}  // namespace

std::vector<int64_t> sample_indices(uint64_t seed, int64_t n, int64_t first, int64_t count) {
  if (n <= 0) throw InvalidArgument("sample_indices: the dataset is empty");
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(count));
  int64_t cached_epoch = -1;
  std::vector<int64_t> perm;
  for (int64_t g = first; g < first + count; ++g) {
    int64_t epoch = g / n;
    if (epoch != cached_epoch) {
      perm = epoch_permutation(seed, n, epoch);
      cached_epoch = epoch;
    }
    out.push_back(perm[static_cast<size_t>(g % n)]);
  }
  return out;
}

}  // namespace cdb
