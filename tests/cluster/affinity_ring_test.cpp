#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "cluster/affinity_ring.h"
#include "common/error.h"

namespace cdb {
namespace {

std::vector<std::string> ring_nodes(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back("10.0.0." + std::to_string(i) + ":5432");
  return out;
}

// One question per key: corpus sets of one to three names.
std::vector<std::vector<std::string>> questions(int n) {
  std::vector<std::vector<std::string>> out;
  for (int i = 0; i < n; ++i) {
    std::vector<std::string> q{"corpus-" + std::to_string(i)};
    if (i % 3 >= 1) q.push_back("corpus-" + std::to_string(i + 7));
    if (i % 3 == 2) q.push_back("corpus-" + std::to_string(i + 13));
    out.push_back(q);
  }
  return out;
}

TEST(AffinityRing, PrefersTheSameNodeWhateverOrderTheMembersJoinedIn) {
  auto names = ring_nodes(7);
  AffinityRing a(names);
  std::reverse(names.begin(), names.end());
  AffinityRing b(names);
  for (const auto& q : questions(2000)) EXPECT_EQ(a.preferred(q), b.preferred(q));
}

TEST(AffinityRing, MapsACorpusSetAlikeWhateverItsOrderAndRepeats) {
  AffinityRing ring(ring_nodes(16));
  int differ_from_first = 0;
  for (int i = 0; i < 500; ++i) {
    const std::string a = "alpha-" + std::to_string(i), b = "beta-" + std::to_string(i), c = "gamma";
    const std::string& node = ring.preferred({a, b, c});
    EXPECT_EQ(node, ring.preferred({c, b, a}));
    EXPECT_EQ(node, ring.preferred({b, a, c, a}));
    EXPECT_EQ(AffinityRing::key_of({a, b, c}), AffinityRing::key_of({c, a, b}));
    if (node != ring.preferred({a})) ++differ_from_first;
  }
  // The set is the key, not its first name: most sets land elsewhere than
  // their first corpus alone (15/16 of them if independent).
  EXPECT_GT(differ_from_first, 400);
}

TEST(AffinityRing, KeysNamesByLengthSoThatConcatenationsDiffer) {
  EXPECT_NE(AffinityRing::key_of({"ab", "c"}), AffinityRing::key_of({"a", "bc"}));
  EXPECT_NE(AffinityRing::key_of({"a"}), AffinityRing::key_of({"a", "b"}));
}

// 100000 keys over 10 nodes: 10000 expected each, binomial sd ~95, so a
// stated tolerance of 5% (500 keys) is over 5 sd.
TEST(AffinityRing, BalancesKeysAcrossNodesWithinFivePercent) {
  AffinityRing ring(ring_nodes(10));
  std::map<std::string, int> count;
  const auto qs = questions(100000);
  for (const auto& q : qs) ++count[ring.preferred(q)];
  ASSERT_EQ(count.size(), 10u);
  for (const auto& [node, n] : count) {
    EXPECT_GT(n, 9500) << node;
    EXPECT_LT(n, 10500) << node;
  }
}

TEST(AffinityRing, MovesOnlyTheNewNodesShareWhenANodeJoins) {
  auto names = ring_nodes(10);
  AffinityRing before(names);
  AffinityRing after(names);
  after.add("10.0.0.99:5432");
  const auto qs = questions(100000);
  int moved = 0;
  for (const auto& q : qs) {
    const std::string& was = before.preferred(q);
    const std::string& is = after.preferred(q);
    if (was == is) continue;
    ++moved;
    EXPECT_EQ(is, "10.0.0.99:5432") << "a key moved between two nodes that both stayed";
  }
  // 1/11 of the keys (9091) ideally; within 5%.
  EXPECT_GT(moved, 100000 / 11 * 95 / 100);
  EXPECT_LT(moved, 100000 / 11 * 105 / 100);
}

TEST(AffinityRing, MovesOnlyTheLeavingNodesKeysWhenANodeLeaves) {
  auto names = ring_nodes(10);
  AffinityRing before(names);
  AffinityRing after(names);
  after.remove(names[3]);
  int moved = 0, held = 0;
  for (const auto& q : questions(100000)) {
    const std::string& was = before.preferred(q);
    if (was == names[3]) ++held;
    if (was != after.preferred(q)) {
      ++moved;
      EXPECT_EQ(was, names[3]) << "a key left a node that stayed";
    }
  }
  EXPECT_EQ(moved, held);  // exactly the leaver's keys, ~1/10 of all
  EXPECT_GT(moved, 9500);
  EXPECT_LT(moved, 10500);
}

TEST(AffinityRing, RanksEveryNodeWithThePreferredOneFirst) {
  auto names = ring_nodes(8);
  AffinityRing ring(names);
  AffinityRing without_first(names);
  for (const auto& q : questions(500)) {
    const uint64_t key = AffinityRing::key_of(q);
    const auto ranked = ring.ranked_for_key(key);
    ASSERT_EQ(ranked.size(), 8u);
    EXPECT_EQ(ranked.front(), ring.preferred(q));
    EXPECT_EQ(std::set<std::string>(ranked.begin(), ranked.end()).size(), 8u);
  }
  // Without its preferred node, a key goes to its second choice: the
  // fallback order is the order the ring moves keys in.
  const auto q = questions(1).front();
  const auto ranked = ring.ranked_for_key(AffinityRing::key_of(q));
  without_first.remove(ranked.front());
  EXPECT_EQ(without_first.preferred(q), ranked[1]);
}

// Nodes of one fleet must agree on every choice, whatever their build: a
// change to the key or the score moves questions between versions, so it
// must be deliberate (these values change with it).
TEST(AffinityRing, ChoosesAsEveryOtherBuildDoes) {
  AffinityRing ring({"10.0.0.1:5432", "10.0.0.2:5432", "10.0.0.3:5432", "10.0.0.4:5432"});
  EXPECT_EQ(ring.preferred({"docs"}), "10.0.0.2:5432");
  EXPECT_EQ(ring.preferred({"wiki", "docs"}), "10.0.0.3:5432");
  EXPECT_EQ(ring.preferred({"a", "b", "c"}), "10.0.0.1:5432");
  EXPECT_EQ(AffinityRing::key_of({"wiki", "docs"}), uint64_t{2446854445342768317});
}

TEST(AffinityRing, RejectsEmptyOrRepeatedNodeNames) {
  AffinityRing ring({"a:1"});
  EXPECT_THROW(ring.add(""), InvalidArgument);
  EXPECT_THROW(ring.add("a:1"), InvalidArgument);
  EXPECT_THROW(AffinityRing({"b:1", "b:1"}), InvalidArgument);
  EXPECT_THROW(ring.remove("nobody:1"), NotFound);
  EXPECT_TRUE(ring.contains("a:1"));
  EXPECT_EQ(ring.size(), 1u);
}

TEST(AffinityRing, RefusesQuestionsWithoutCorporaAndRingsWithoutNodes) {
  AffinityRing ring({"a:1"});
  EXPECT_THROW(ring.preferred({}), InvalidArgument);
  EXPECT_THROW(ring.preferred({"docs", ""}), InvalidArgument);
  AffinityRing empty;
  EXPECT_THROW(empty.preferred({"docs"}), InvalidArgument);
  ring.remove("a:1");
  EXPECT_THROW(ring.preferred({"docs"}), InvalidArgument);
}

}  // namespace
}  // namespace cdb
