// AffinityRing: the node a question prefers, by rendezvous (highest random
// weight) hashing of its corpus set over the named nodes.
//
// Key. The corpus names of a question, sorted and without repeats: ASK ...
// USING b, a and USING a, b prefer the same node, as they read the same
// composed Cartridge (the planner orders its parts by corpus id).
//
// Choice. Every node scores a key with a hash of (node, key); the highest
// score wins (ties, which need equal 64-bit hashes, go to the smaller name).
// So a key moves only when its winner leaves, or when a joining node
// outscores the old winner: adding or removing one node of N moves about
// 1/N of the keys, and no key moves between two nodes that stay. Scores use
// xxh3-64 (common/hash.h), so every node of a fleet, whatever its build or
// platform, computes the same choice from the same member list.
//
// Cost: O(nodes) per lookup: one hash of the key and one mix per node.
//
// Not thread-safe for writes: a server keeps one per membership version and
// swaps it (readers of a const ring may share it).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cdb {

class AffinityRing {
 public:
  AffinityRing() = default;
  // InvalidArgument for an empty or repeated name.
  explicit AffinityRing(const std::vector<std::string>& nodes);

  // InvalidArgument for an empty name or one already in the ring.
  void add(const std::string& node);
  // NotFound for a name not in the ring.
  void remove(const std::string& node);

  bool contains(std::string_view node) const;
  size_t size() const { return nodes_.size(); }
  // Member names, sorted.
  std::vector<std::string> nodes() const;

  // The preferred node for a question naming `corpora` (any order, repeats
  // allowed). InvalidArgument for no corpora, an empty name, or an empty
  // ring.
  const std::string& preferred(const std::vector<std::string>& corpora) const;

  // The hash of a corpus set as preferred() keys it: sorted, repeats
  // dropped, each name length-prefixed (so {"ab","c"} and {"a","bc"}
  // differ). Exposed so that a caller routing many questions on one set
  // hashes it once (preferred_for_key).
  static uint64_t key_of(std::vector<std::string> corpora);
  const std::string& preferred_for_key(uint64_t key) const;

  // Every node in order of preference for `key`, preferred_for_key first:
  // where a router sends a question when the nodes before are too busy
  // (bounded-load affinity). A node's rank for a key does not depend on
  // the other members, so the fallbacks move as little as the first choice.
  std::vector<std::string> ranked_for_key(uint64_t key) const;

 private:
  struct Member {
    std::string name;
    uint64_t hash = 0;  // xxh3-64 of the name
  };
  std::vector<Member> nodes_;  // sorted by name
};

}  // namespace cdb
