#include "cluster/zipf_trace.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "common/error.h"

namespace cdb {

void ZipfTraceOptions::validate() const {
  if (corpora < 1 || corpora > 100'000'000)
    throw InvalidArgument("the trace needs 1 to 100000000 corpora, got " + std::to_string(corpora));
  if (!std::isfinite(exponent) || exponent < 0 || exponent > 10)
    throw InvalidArgument("the Zipf exponent must be in [0, 10] (0: uniform, 1: classic Zipf), got " +
                          std::to_string(exponent));
  if (max_corpora_per_question < 1 || max_corpora_per_question > 16)
    throw InvalidArgument("a question names 1 to 16 corpora at most, got a maximum of " +
                          std::to_string(max_corpora_per_question));
  if (max_corpora_per_question > corpora)
    throw InvalidArgument("questions naming up to " + std::to_string(max_corpora_per_question) +
                          " distinct corpora need at least that many corpora, got " + std::to_string(corpora));
}

ZipfTrace::ZipfTrace(ZipfTraceOptions options) : options_(options), state_(options.seed) {
  options_.validate();
  cdf_.resize(static_cast<size_t>(options_.corpora));
  double sum = 0;
  for (int64_t r = 1; r <= options_.corpora; ++r) {
    sum += std::pow(static_cast<double>(r), -options_.exponent);
    cdf_[static_cast<size_t>(r - 1)] = sum;
  }
  for (double& c : cdf_) c /= sum;
  cdf_.back() = 1.0;  // rounding must not leave a draw of 1 - epsilon without a rank
}

uint64_t ZipfTrace::next_u64() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

int64_t ZipfTrace::draw() {
  const double u = static_cast<double>(next_u64() >> 11) * 0x1.0p-53;  // [0, 1)
  const auto it = std::upper_bound(cdf_.begin(), cdf_.end(), u);
  return static_cast<int64_t>(it - cdf_.begin()) + 1;
}

std::vector<int64_t> ZipfTrace::next() {
  const int64_t count = 1 + static_cast<int64_t>(next_u64() % static_cast<uint64_t>(options_.max_corpora_per_question));
  std::vector<int64_t> ids;
  ids.reserve(static_cast<size_t>(count));
  // Redraw repeats: a question names a corpus once. With a steep exponent
  // the top corpus repeats often, but count <= corpora ends the loop.
  while (static_cast<int64_t>(ids.size()) < count) {
    const int64_t id = draw();
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  }
  return ids;
}

double ZipfTrace::probability(int64_t id) const {
  if (id < 1 || id > options_.corpora) return 0;
  const auto i = static_cast<size_t>(id - 1);
  return i == 0 ? cdf_[0] : cdf_[i] - cdf_[i - 1];
}

}  // namespace cdb
