#include "cluster/affinity_ring.h"

#include <algorithm>

#include "common/error.h"
#include "common/hash.h"

namespace cdb {

namespace {

// A bijective 64-bit mix (the splitmix64 finalizer): the score of a node for
// a key. Mixing the two hashes instead of hashing their concatenation keeps
// a lookup at one pass over the key, and stays uniform because both inputs
// are already xxh3 outputs.
uint64_t score(uint64_t node_hash, uint64_t key) {
  uint64_t z = node_hash ^ (key + 0x9e3779b97f4a7c15ull + (node_hash << 6) + (node_hash >> 2));
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

AffinityRing::AffinityRing(const std::vector<std::string>& nodes) {
  for (const auto& n : nodes) add(n);
}

void AffinityRing::add(const std::string& node) {
  if (node.empty()) throw InvalidArgument("a node of the affinity ring needs a name (--node-name), got an empty one");
  auto at = std::lower_bound(nodes_.begin(), nodes_.end(), node,
                             [](const Member& m, const std::string& n) { return m.name < n; });
  if (at != nodes_.end() && at->name == node)
    throw InvalidArgument("node '" + node + "' is already in the affinity ring; node names (--node-name) must be unique");
  nodes_.insert(at, Member{node, xxh3_64(node)});
}

void AffinityRing::remove(const std::string& node) {
  auto at = std::find_if(nodes_.begin(), nodes_.end(), [&](const Member& m) { return m.name == node; });
  if (at == nodes_.end()) throw NotFound("node '" + node + "' is not in the affinity ring");
  nodes_.erase(at);
}

bool AffinityRing::contains(std::string_view node) const {
  return std::any_of(nodes_.begin(), nodes_.end(), [&](const Member& m) { return m.name == node; });
}

std::vector<std::string> AffinityRing::nodes() const {
  std::vector<std::string> out;
  out.reserve(nodes_.size());
  for (const auto& m : nodes_) out.push_back(m.name);
  return out;
}

uint64_t AffinityRing::key_of(std::vector<std::string> corpora) {
  if (corpora.empty()) throw InvalidArgument("a question routes by its corpora, and names none");
  std::sort(corpora.begin(), corpora.end());
  corpora.erase(std::unique(corpora.begin(), corpora.end()), corpora.end());
  Xxh3Stream h;
  for (const auto& c : corpora) {
    if (c.empty()) throw InvalidArgument("a question routes by its corpora; one of their names is empty");
    // Little-endian whatever the host, so that every build keys alike.
    unsigned char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(static_cast<uint64_t>(c.size()) >> (8 * i));
    h.update(len, sizeof len);
    h.update(c.data(), c.size());
  }
  return h.digest();
}

const std::string& AffinityRing::preferred_for_key(uint64_t key) const {
  if (nodes_.empty())
    throw InvalidArgument("the affinity ring has no nodes; start a node (cartridge serve --node-name) first");
  const Member* best = &nodes_.front();
  uint64_t best_score = score(best->hash, key);
  // nodes_ is sorted by name and only a strictly higher score replaces the
  // best, so a tie goes to the smaller name.
  for (size_t i = 1; i < nodes_.size(); ++i) {
    const uint64_t s = score(nodes_[i].hash, key);
    if (s > best_score) {
      best = &nodes_[i];
      best_score = s;
    }
  }
  return best->name;
}

std::vector<std::string> AffinityRing::ranked_for_key(uint64_t key) const {
  if (nodes_.empty())
    throw InvalidArgument("the affinity ring has no nodes; start a node (cartridge serve --node-name) first");
  std::vector<std::pair<uint64_t, size_t>> order;  // (score, position in nodes_)
  order.reserve(nodes_.size());
  for (size_t i = 0; i < nodes_.size(); ++i) order.push_back({score(nodes_[i].hash, key), i});
  // Higher score first; on a tie the smaller name (smaller position), as preferred_for_key.
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  std::vector<std::string> out;
  out.reserve(order.size());
  for (const auto& [s, i] : order) out.push_back(nodes_[i].name);
  return out;
}

const std::string& AffinityRing::preferred(const std::vector<std::string>& corpora) const {
  return preferred_for_key(key_of(corpora));
}

}  // namespace cdb
