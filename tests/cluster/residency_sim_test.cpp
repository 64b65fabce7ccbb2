#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "cluster/cartridge_shape.h"
#include "cluster/in_memory_node_directory.h"
#include "cluster/residency_sim.h"
#include "cluster/zipf_trace.h"
#include "common/error.h"

namespace cdb {
namespace {

// llama-3.2-3b's Cartridges at p = 2048 in bf16: 2 x 28 layers x 8 kv heads
// x 2048 tokens x 128 x 2 bytes.
constexpr int64_t kLlama3bBytes = 2 * 28 * 8 * 2048 * 128 * 2;

std::shared_ptr<const LayoutOnlySource> llama3b_store(int64_t corpora) {
  return std::make_shared<LayoutOnlySource>(CartridgeShape::of_model("llama-3.2-3b", 2048), corpora);
}

std::vector<std::vector<int64_t>> trace_of(ZipfTraceOptions o, int n) {
  ZipfTrace t(o);
  std::vector<std::vector<int64_t>> out;
  for (int i = 0; i < n; ++i) out.push_back(t.next());
  return out;
}

ResidencySimResult replay(const std::vector<std::vector<int64_t>>& trace, int64_t corpora, int64_t nodes,
                          int64_t budget, Routing routing) {
  ResidencySim sim(llama3b_store(corpora), {nodes, budget, routing});
  for (const auto& q : trace) sim.ask(q);
  return sim.result();
}

TEST(CartridgeShape, SizesALlama3bCartridgeAsItsRealLayout) {
  const CartridgeShape s = CartridgeShape::of_model("llama-3.2-3b", 2048);
  EXPECT_EQ(s.bytes(), kLlama3bBytes);  // 235 MB, as docs/benchmarks.md's 253 MB per request less the question's KV
  EXPECT_EQ(s.tensors(), 56);
  EXPECT_EQ(CartridgeShape::of_model("llama-3.1-8b", 2048).bytes(), int64_t{2} * 32 * 8 * 2048 * 128 * 2);
  EXPECT_THROW(CartridgeShape::of_model("llama-9000", 2048), InvalidArgument);
  EXPECT_THROW(CartridgeShape::of_model("llama-3.2-3b", 0), InvalidArgument);
  EXPECT_THROW(CartridgeShape::of_model("llama-3.2-3b", 2048, "i32"), InvalidArgument);
}

TEST(ZipfTrace, RepeatsTheSameQuestionsForTheSameSeed) {
  ZipfTraceOptions o;
  o.corpora = 500;
  EXPECT_EQ(trace_of(o, 1000), trace_of(o, 1000));
  o.seed = 2;
  auto other = trace_of(o, 1000);
  o.seed = 1;
  EXPECT_NE(trace_of(o, 1000), other);
}

TEST(ZipfTrace, NamesOneToTheMaximumDistinctCorpora) {
  ZipfTraceOptions o;
  o.corpora = 5;
  o.exponent = 2;
  o.max_corpora_per_question = 3;
  std::set<size_t> sizes;
  for (const auto& q : trace_of(o, 3000)) {
    sizes.insert(q.size());
    EXPECT_EQ(std::set<int64_t>(q.begin(), q.end()).size(), q.size());
    for (int64_t id : q) {
      EXPECT_GE(id, 1);
      EXPECT_LE(id, 5);
    }
  }
  EXPECT_EQ(sizes, (std::set<size_t>{1, 2, 3}));
}

// One corpus per question: corpus 1 is drawn with probability 1 / H(1000)
// = 0.1336 at exponent 1; over 200000 draws the sd is 0.0008.
TEST(ZipfTrace, DrawsTheTopCorpusAsOftenAsZipfsLawSays) {
  ZipfTraceOptions o;
  o.corpora = 1000;
  o.max_corpora_per_question = 1;
  ZipfTrace t(o);
  double h = 0;
  for (int r = 1; r <= 1000; ++r) h += 1.0 / r;
  EXPECT_NEAR(t.probability(1), 1 / h, 1e-12);
  EXPECT_NEAR(t.probability(2), 0.5 / h, 1e-12);
  int top = 0;
  for (int i = 0; i < 200000; ++i) top += t.next().front() == 1;
  EXPECT_NEAR(top / 200000.0, 1 / h, 0.004);
}

TEST(ZipfTrace, RejectsHostileOptions) {
  auto bad = [](auto change) {
    ZipfTraceOptions o;
    change(o);
    EXPECT_THROW(ZipfTrace{o}, InvalidArgument);
  };
  bad([](ZipfTraceOptions& o) { o.corpora = 0; });
  bad([](ZipfTraceOptions& o) { o.corpora = -5; });
  bad([](ZipfTraceOptions& o) { o.exponent = -1; });
  bad([](ZipfTraceOptions& o) { o.exponent = std::nan(""); });
  bad([](ZipfTraceOptions& o) { o.max_corpora_per_question = 0; });
  bad([](ZipfTraceOptions& o) {
    o.corpora = 2;
    o.max_corpora_per_question = 3;
  });
}

// The trace's cold misses are every miss when the budget holds everything:
// hit rate = 1 - distinct corpus sets / questions, exactly.
TEST(ResidencySim, MissesOnlyColdWhenTheBudgetHoldsEveryCorpusSet) {
  ZipfTraceOptions o;
  o.corpora = 60;
  const auto trace = trace_of(o, 3000);
  std::set<std::vector<int64_t>> sets;
  int64_t bytes = 0;
  for (auto q : trace) {
    std::sort(q.begin(), q.end());
    if (sets.insert(q).second) bytes += kLlama3bBytes * static_cast<int64_t>(q.size());
  }
  const auto r = replay(trace, o.corpora, 1, bytes, Routing::Affinity);
  EXPECT_EQ(r.questions, 3000);
  EXPECT_EQ(r.misses, static_cast<int64_t>(sets.size()));
  EXPECT_EQ(r.cold_misses, static_cast<int64_t>(sets.size()));
  EXPECT_EQ(r.hits, 3000 - static_cast<int64_t>(sets.size()));
  EXPECT_EQ(r.evictions, 0);
  EXPECT_DOUBLE_EQ(r.hit_rate(), 1.0 - static_cast<double>(sets.size()) / 3000);
}

// Budget for two Cartridges, least recently used out first: 1 2 3 evicts 1,
// so 1 misses again; 1 2 1 3 evicts 2 (1 was used later), so 1 hits.
TEST(ResidencySim, EvictsTheLeastRecentlyUsedCartridgeAsTheManagerDoes) {
  auto lru = replay({{1}, {2}, {3}, {1}}, 3, 1, 2 * kLlama3bBytes, Routing::Affinity);
  EXPECT_EQ(lru.hits, 0);
  EXPECT_EQ(lru.misses, 4);
  EXPECT_EQ(lru.evictions, 2);
  auto kept = replay({{1}, {2}, {1}, {3}, {1}}, 3, 1, 2 * kLlama3bBytes, Routing::Affinity);
  EXPECT_EQ(kept.hits, 2);
  EXPECT_EQ(kept.misses, 3);
  // A composition is its own entry, keyed in the planner's order, and its
  // miss reads each part from the store.
  auto composed = replay({{2, 1}, {1, 2}}, 2, 1, 2 * kLlama3bBytes, Routing::Affinity);
  EXPECT_EQ(composed.misses, 1);  // USING b, a and USING a, b: one entry
  EXPECT_EQ(composed.hits, 1);
  EXPECT_EQ(composed.part_loads, 2);
}

TEST(ResidencySim, RoutesAlikeEitherWayOnOneNode) {
  ZipfTraceOptions o;
  o.corpora = 200;
  const auto trace = trace_of(o, 4000);
  const auto a = replay(trace, o.corpora, 1, 20 * kLlama3bBytes, Routing::Affinity);
  const auto b = replay(trace, o.corpora, 1, 20 * kLlama3bBytes, Routing::RoundRobin);
  EXPECT_EQ(a.hits, b.hits);
  EXPECT_EQ(a.evictions, b.evictions);
}

// Four nodes, each with room for a quarter of the trace's corpus sets (plus
// a tenth): affinity gives each node its quarter, which fits; round-robin
// sends every set everywhere, so each node cycles through all of them.
TEST(ResidencySim, AffinityRoutingBeatsRoundRobinWhenEachNodeHoldsItsShare) {
  ZipfTraceOptions o;
  o.corpora = 100;
  o.exponent = 0.8;
  o.max_corpora_per_question = 1;
  const auto trace = trace_of(o, 20000);
  const int64_t budget = (100 / 4 + 10) * kLlama3bBytes;
  const auto affinity = replay(trace, o.corpora, 4, budget, Routing::Affinity);
  const auto round_robin = replay(trace, o.corpora, 4, budget, Routing::RoundRobin);
  // Affinity: a node holds its share (about 25 corpora, fewer than 35),
  // so only cold misses remain: at most the 100 corpora once each.
  EXPECT_EQ(affinity.misses, affinity.cold_misses);
  EXPECT_LE(affinity.misses, 100);
  EXPECT_GT(affinity.hit_rate(), 0.99);
  EXPECT_GT(round_robin.misses, round_robin.cold_misses);
  EXPECT_GT(affinity.hit_rate(), round_robin.hit_rate() + 0.05);
}

// Zipf's head lands on one node under plain affinity; bounded affinity
// caps every node at ceil(1.25 x the mean) and keeps most of the hit rate.
TEST(ResidencySim, BoundedAffinityKeepsEveryNodeWithinTheLoadFactor) {
  ZipfTraceOptions o;
  o.corpora = 1000;
  o.exponent = 1.2;
  const auto trace = trace_of(o, 20000);
  const int64_t budget = 40 * kLlama3bBytes;
  ResidencySim bounded(llama3b_store(o.corpora), {8, budget, Routing::BoundedAffinity, 1.25});
  for (const auto& q : trace) bounded.ask(q);
  const auto b = bounded.result();
  const auto plain = replay(trace, o.corpora, 8, budget, Routing::Affinity);
  const auto rr = replay(trace, o.corpora, 8, budget, Routing::RoundRobin);
  EXPECT_LE(b.max_node_questions, static_cast<int64_t>(std::ceil(1.25 * 20000 / 8)));
  EXPECT_GT(plain.max_node_questions, b.max_node_questions);
  EXPECT_GT(b.hit_rate(), rr.hit_rate());
  EXPECT_THROW(ResidencySim(llama3b_store(10), {2, budget, Routing::BoundedAffinity, 0.5}), InvalidArgument);
  EXPECT_EQ(parse_routing("bounded-affinity"), Routing::BoundedAffinity);
  EXPECT_EQ(parse_routing("bounded-part-affinity"), Routing::BoundedPartAffinity);
}

TEST(ResidencySim, BoundedPartAffinitySendsACompositionWhereOneOfItsPartsGoes) {
  const int64_t budget = 10 * kLlama3bBytes;
  int elsewhere_by_set = 0;
  for (int64_t a = 1; a <= 60; ++a) {
    const int64_t b = a + 60;
    // Fresh fleets: no node is near its bound, so each goes to its first choice.
    ResidencySim part(llama3b_store(200), {8, budget, Routing::BoundedPartAffinity});
    ResidencySim set(llama3b_store(200), {8, budget, Routing::BoundedAffinity});
    const size_t node = part.route({b, a});
    EXPECT_TRUE(node == part.route({a}) || node == part.route({b}));
    EXPECT_EQ(node, part.route({a, b}));
    if (set.route({a, b}) != set.route({a}) && set.route({a, b}) != set.route({b})) ++elsewhere_by_set;
  }
  // Keyed by the set, most compositions land on neither part's node (6/8
  // of them if independent).
  EXPECT_GT(elsewhere_by_set, 30);
}

TEST(ResidencySim, ReportsOneCopyPerCartridgeUnderAffinityAndOnePerNodeUnderRoundRobin) {
  for (Routing routing : {Routing::Affinity, Routing::RoundRobin}) {
    ResidencySim sim(llama3b_store(10), {3, 10 * kLlama3bBytes, routing});
    for (int i = 0; i < 6; ++i) sim.ask({4});
    InMemoryNodeDirectory dir;
    sim.report(dir, std::chrono::system_clock::now());
    ASSERT_EQ(dir.nodes().size(), 3u);
    const FleetResidency f = FleetResidency::of(dir);
    EXPECT_EQ(f.distinct_entries, 1);
    EXPECT_EQ(f.entries, routing == Routing::Affinity ? 1 : 3) << routing_name(routing);
    EXPECT_EQ(f.bytes, f.entries * kLlama3bBytes);
    EXPECT_EQ(dir.holders(4).size(), static_cast<size_t>(f.entries));
  }
}

TEST(ResidencySim, RejectsHostileOptions) {
  auto store = llama3b_store(10);
  EXPECT_THROW(ResidencySim(store, {0, kLlama3bBytes, Routing::Affinity}), InvalidArgument);
  EXPECT_THROW(ResidencySim(store, {-3, kLlama3bBytes, Routing::Affinity}), InvalidArgument);
  EXPECT_THROW(ResidencySim(store, {2, -1, Routing::Affinity}), InvalidArgument);
  EXPECT_THROW(ResidencySim(nullptr, {2, kLlama3bBytes, Routing::Affinity}), InvalidArgument);
  EXPECT_THROW(parse_routing("random"), InvalidArgument);
  EXPECT_THROW(LayoutOnlySource(CartridgeShape::of_model("llama-3.2-3b", 2048), 0), InvalidArgument);
  ResidencySim sim(store, {2, 2 * kLlama3bBytes, Routing::Affinity});
  EXPECT_TRUE(sim.fits(2));
  EXPECT_FALSE(sim.fits(3));
  EXPECT_THROW(sim.ask({1, 2, 3}), ResourceExhausted);  // the manager's own refusal
  EXPECT_THROW(sim.ask({11}), InvalidArgument);
}

}  // namespace
}  // namespace cdb
