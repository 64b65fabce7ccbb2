#include "cluster/route_choice.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "cluster/affinity_ring.h"
#include "common/error.h"

namespace cdb {

uint64_t route_key(const std::vector<std::string>& corpora) {
  if (corpora.empty()) throw InvalidArgument("a question routes by its corpora, and names none");
  uint64_t key = std::numeric_limits<uint64_t>::max();
  for (const auto& c : corpora) key = std::min(key, AffinityRing::key_of({c}));
  return key;
}

std::string choose_node(uint64_t key, const std::map<std::string, int64_t>& load, double load_factor) {
  if (load.empty()) throw InvalidArgument("routing needs at least one live node, got none");
  if (!(load_factor >= 1 && load_factor <= 100))
    throw InvalidArgument("the routing load factor (--route-load-factor) is in [1, 100] (1.25: a node takes up to 25% "
                          "more than the mean), got " + std::to_string(load_factor));
  std::vector<std::string> names;
  int64_t total = 0;
  for (const auto& [name, n] : load) {
    names.push_back(name);
    total += std::max<int64_t>(n, 0);
  }
  const AffinityRing ring(names);
  // As residency_sim: the mean counts this question, so some node fits.
  const double bound =
      std::ceil(load_factor * static_cast<double>(total + 1) / static_cast<double>(load.size()));
  for (const std::string& name : ring.ranked_for_key(key))
    if (static_cast<double>(std::max<int64_t>(load.at(name), 0) + 1) <= bound) return name;
  // Unreachable by the arithmetic above; the preferred node is the safe answer.
  return ring.preferred_for_key(key);
}

}  // namespace cdb
