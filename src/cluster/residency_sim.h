// ResidencySim: a fleet of serve nodes replaying questions, each node a
// real ResidencyManager, to measure the hit rate a device budget and a node
// count give, with affinity routing (AffinityRing) or round-robin routing
// (what a plain TCP load balancer does).
//
// Real: the routing (AffinityRing), the residency policy (one
// ResidencyManager per node: hits, misses, LRU eviction, the byte budget,
// compositions as their own entries), the Cartridge bytes (CartridgeLayout
// of the model's real dimensions) and the order of a composition's parts
// (sorted by id, as the planner sorts them). Modeled: the loads, which move
// no bytes and take no time (LayoutOnlySource); so questions run one at a
// time, each releasing its Cartridge before the next, and the host tier is
// off (CPU managers), so a miss is a load from the store.
//
// Cold misses are a node's first question on a corpus set: no budget avoids
// them; the rest are capacity misses, which a larger budget or affinity
// removes.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cluster/affinity_ring.h"
#include "cluster/layout_only_source.h"
#include "cluster/node_directory.h"
#include "residency/residency_manager.h"

namespace cdb {

// Affinity: the ring's preferred node, always. BoundedAffinity: the first
// node in the ring's order of preference whose share of the questions so
// far stays within load_factor x the mean (consistent hashing with bounded
// loads), so that the node owning the most popular corpus is not swamped.
// BoundedPartAffinity: as BoundedAffinity, but a composition is keyed by
// one of its parts (the one whose own key is smallest), so that it lands
// where that part's single-corpus questions land and may find it resident.
// RoundRobin: the next node, whatever the question.
enum class Routing { Affinity, BoundedAffinity, BoundedPartAffinity, RoundRobin };
// "affinity", "bounded-affinity", "bounded-part-affinity", "round-robin"
std::string_view routing_name(Routing r);
Routing parse_routing(std::string_view name);  // InvalidArgument naming them all

struct ResidencySimOptions {
  int64_t nodes = 1;
  int64_t budget_bytes = 0;  // device budget of each node
  Routing routing = Routing::Affinity;
  double load_factor = 1.25;  // the bounded routings only

  // InvalidArgument for nodes outside [1, 10000], a budget < 1 byte, or a
  // load factor outside [1, 100].
  void validate() const;
};

struct ResidencySimResult {
  int64_t questions = 0;
  int64_t hits = 0;    // summed over the nodes' managers (their stats())
  int64_t misses = 0;
  int64_t cold_misses = 0;  // a node's first question on a corpus set
  int64_t evictions = 0;
  int64_t part_loads = 0;  // stored Cartridges read (a composition's miss reads each part)
  int64_t max_node_questions = 0;  // the busiest node's share of the questions
  double hit_rate() const { return questions ? static_cast<double>(hits) / static_cast<double>(questions) : 0; }
};

// What the directory says the fleet holds: entries over all nodes, distinct
// entries, bytes. copies() > 1: the same Cartridge held on several nodes.
struct FleetResidency {
  int64_t entries = 0;
  int64_t distinct_entries = 0;
  int64_t bytes = 0;
  double copies() const {
    return distinct_entries ? static_cast<double>(entries) / static_cast<double>(distinct_entries) : 0;
  }
  static FleetResidency of(const NodeDirectory& directory);
};

class ResidencySim {
 public:
  // Nodes are named "node-<i>" (i from 0). ResourceExhausted from ask()
  // when a question's composition exceeds the budget: check with fits().
  ResidencySim(std::shared_ptr<const LayoutOnlySource> store, ResidencySimOptions options);

  // Routes the question (corpus ids, any order) to a node, which acquires
  // its composed Cartridge and releases it.
  void ask(const std::vector<int64_t>& corpora);

  // The node a question goes to next (round-robin: advances nothing).
  size_t route(const std::vector<int64_t>& corpora) const;

  // True when a composition of `parts` Cartridges fits a node's budget.
  bool fits(int64_t parts) const;

  ResidencySimResult result() const;
  // Each node's heartbeat: its resident entries and bytes, at `now`.
  void report(NodeDirectory& directory, std::chrono::system_clock::time_point now) const;

  const std::vector<std::string>& node_names() const { return names_; }
  static std::string corpus_name(int64_t id);  // the name routing hashes: "corpus-<id>"

 private:
  struct Node {
    std::unique_ptr<ResidencyManager> residency;
    std::unordered_set<uint64_t> seen;  // corpus-set keys asked here (cold misses)
    int64_t questions = 0;
  };
  std::shared_ptr<const LayoutOnlySource> store_;
  ResidencySimOptions options_;
  AffinityRing ring_;
  std::vector<std::string> names_;
  std::unordered_map<std::string, size_t> index_;  // name -> position in nodes_
  std::vector<Node> nodes_;
  int64_t next_round_robin_ = 0;
  int64_t questions_ = 0;
  int64_t cold_misses_ = 0;
};

}  // namespace cdb
