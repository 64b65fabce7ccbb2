#include "cluster/residency_sim.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "cluster/route_choice.h"
#include "common/error.h"
#include "common/hash.h"

namespace cdb {

std::string_view routing_name(Routing r) {
  switch (r) {
    case Routing::Affinity: return "affinity";
    case Routing::BoundedAffinity: return "bounded-affinity";
    case Routing::BoundedPartAffinity: return "bounded-part-affinity";
    case Routing::RoundRobin: break;
  }
  return "round-robin";
}

Routing parse_routing(std::string_view name) {
  for (Routing r : {Routing::Affinity, Routing::BoundedAffinity, Routing::BoundedPartAffinity, Routing::RoundRobin})
    if (name == routing_name(r)) return r;
  throw InvalidArgument("routing is 'affinity', 'bounded-affinity', 'bounded-part-affinity' or 'round-robin', got '" +
                        std::string(name) + "'");
}

void ResidencySimOptions::validate() const {
  if (nodes < 1 || nodes > 10000)
    throw InvalidArgument("a simulated fleet has 1 to 10000 nodes, got " + std::to_string(nodes));
  if (budget_bytes < 1)
    throw InvalidArgument("each node needs a device budget of at least 1 byte, got " + std::to_string(budget_bytes));
  if (!(load_factor >= 1 && load_factor <= 100))
    throw InvalidArgument("the load factor of bounded-affinity routing is in [1, 100] (1.25: a node takes up to 25% "
                          "more than the mean), got " + std::to_string(load_factor));
}

FleetResidency FleetResidency::of(const NodeDirectory& directory) {
  FleetResidency f;
  std::set<std::vector<int64_t>> distinct;
  for (const NodeReport& n : directory.nodes()) {
    f.entries += static_cast<int64_t>(n.resident.size());
    f.bytes += n.resident_bytes;
    distinct.insert(n.resident.begin(), n.resident.end());
  }
  f.distinct_entries = static_cast<int64_t>(distinct.size());
  return f;
}

std::string ResidencySim::corpus_name(int64_t id) { return "corpus-" + std::to_string(id); }

ResidencySim::ResidencySim(std::shared_ptr<const LayoutOnlySource> store, ResidencySimOptions options)
    : store_(std::move(store)), options_(options) {
  if (!store_) throw InvalidArgument("a residency simulation needs a store, got none");
  options_.validate();
  ResidencyOptions ro;
  ro.device = at::kCPU;  // the host tier is off: every miss reads the store
  ro.device_budget_bytes = options_.budget_bytes;
  // Questions run one at a time and release at once: nothing ever waits.
  ro.wait_timeout = std::chrono::milliseconds(0);
  for (int64_t i = 0; i < options_.nodes; ++i) {
    names_.push_back("node-" + std::to_string(i));
    ring_.add(names_.back());
    index_.emplace(names_.back(), static_cast<size_t>(i));
    nodes_.push_back(Node{std::make_unique<ResidencyManager>(store_, ro), {}, 0});
  }
}

bool ResidencySim::fits(int64_t parts) const {
  return parts >= 1 && store_->shape().bytes() <= options_.budget_bytes / parts;
}

size_t ResidencySim::route(const std::vector<int64_t>& corpora) const {
  if (options_.routing == Routing::RoundRobin) return static_cast<size_t>(next_round_robin_ % options_.nodes);
  uint64_t key = 0;
  if (options_.routing == Routing::BoundedPartAffinity) {
    // The smallest key among the parts alone: order-independent, and the
    // same node as that part's own questions.
    std::vector<std::string> names;
    names.reserve(corpora.size());
    for (int64_t id : corpora) names.push_back(corpus_name(id));
    key = route_key(names);  // the key a server routes with
  } else {
    std::vector<std::string> names;
    names.reserve(corpora.size());
    for (int64_t id : corpora) names.push_back(corpus_name(id));
    key = AffinityRing::key_of(std::move(names));
  }
  if (options_.routing == Routing::Affinity) return index_.at(ring_.preferred_for_key(key));
  // The bound counts this question: with the mean taken over questions_ + 1,
  // the nodes' shares sum to less than nodes x bound, so one always fits.
  const double bound =
      options_.load_factor * static_cast<double>(questions_ + 1) / static_cast<double>(options_.nodes);
  for (const std::string& name : ring_.ranked_for_key(key)) {
    const size_t i = index_.at(name);
    if (static_cast<double>(nodes_[i].questions + 1) <= std::ceil(bound)) return i;
  }
  throw Error("bounded-affinity routing found no node under its bound; the load accounting is wrong");
}

void ResidencySim::ask(const std::vector<int64_t>& corpora) {
  const size_t at = route(corpora);
  ++next_round_robin_;
  Node& node = nodes_[at];
  ++node.questions;
  ++questions_;
  // The planner's order: parts sorted by id (ask_planner.cpp).
  std::vector<int64_t> ids = corpora;
  std::sort(ids.begin(), ids.end());
  std::vector<CartridgeRow> rows;
  rows.reserve(ids.size());
  for (int64_t id : ids) {
    auto row = store_->row(id);
    if (!row)
      throw InvalidArgument("the simulated store holds Cartridges 1 to " + std::to_string(store_->cartridges()) +
                            ", the question names " + std::to_string(id));
    rows.push_back(std::move(*row));
  }
  // 64-bit keys: a collision among a few million sets (~1e-7) would miscount one cold miss.
  if (node.seen.insert(xxh3_64(ids.data(), ids.size() * sizeof(int64_t))).second) ++cold_misses_;
  node.residency->acquire(rows);  // the ref is dropped at once: the question is answered
}

ResidencySimResult ResidencySim::result() const {
  ResidencySimResult r;
  r.questions = questions_;
  r.cold_misses = cold_misses_;
  for (const Node& n : nodes_) {
    const ResidencyManager::Stats s = n.residency->stats();
    r.hits += s.device.hits;
    r.misses += s.device.misses;
    r.evictions += s.device.evictions;
    r.part_loads += s.disk_loads;
    r.max_node_questions = std::max(r.max_node_questions, n.questions);
  }
  return r;
}

void ResidencySim::report(NodeDirectory& directory, std::chrono::system_clock::time_point now) const {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    NodeReport rep;
    rep.name = names_[i];
    rep.address = names_[i] + ":5432";
    for (auto& e : nodes_[i].residency->resident()) {
      rep.resident_bytes += e.bytes;
      rep.resident.push_back(std::move(e.ids));
    }
    rep.budget_bytes = options_.budget_bytes;
    rep.heartbeat = now;
    directory.heartbeat(rep);
  }
}

}  // namespace cdb
