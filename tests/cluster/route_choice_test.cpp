// RouteChoice: the key and the load bound a server routes ASKs with.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "cluster/affinity_ring.h"
#include "cluster/route_choice.h"
#include "common/error.h"

namespace cdb {
namespace {

std::map<std::string, int64_t> idle_fleet(int n) {
  std::map<std::string, int64_t> load;
  for (int i = 0; i < n; ++i) load["gpu-" + std::to_string(i)] = 0;
  return load;
}

TEST(RouteChoice, KeysACompositionByItsPartWithTheSmallestKey) {
  const std::vector<std::string> parts = {"farm", "sea", "city"};
  uint64_t smallest = UINT64_MAX;
  for (const auto& p : parts) smallest = std::min(smallest, AffinityRing::key_of({p}));
  EXPECT_EQ(route_key(parts), smallest);
  EXPECT_EQ(route_key({"city", "sea", "farm"}), smallest);  // order does not matter
  // The part that keys it routes alone where the composition goes.
  std::string keyed;
  for (const auto& p : parts)
    if (AffinityRing::key_of({p}) == smallest) keyed = p;
  const auto load = idle_fleet(7);
  EXPECT_EQ(choose_node(route_key(parts), load, 1.25), choose_node(route_key({keyed}), load, 1.25));
}

TEST(RouteChoice, AnIdleFleetSendsEachQuestionToItsPreferredNode) {
  const auto load = idle_fleet(5);
  std::vector<std::string> names;
  for (const auto& [n, l] : load) names.push_back(n);
  const AffinityRing ring(names);
  for (int i = 0; i < 200; ++i) {
    const uint64_t key = route_key({"corpus-" + std::to_string(i)});
    EXPECT_EQ(choose_node(key, load, 1.25), ring.preferred_for_key(key));
  }
}

TEST(RouteChoice, ABusyFirstChoiceGivesTheQuestionToTheNextInRankThatFits) {
  auto load = idle_fleet(4);
  std::vector<std::string> names;
  for (const auto& [n, l] : load) names.push_back(n);
  const AffinityRing ring(names);
  const uint64_t key = route_key({"popular"});
  const auto ranked = ring.ranked_for_key(key);
  // 8 in flight on the first choice: mean (8 + 1) / 4, bound ceil(1.25 x 2.25) = 3.
  load[ranked[0]] = 8;
  EXPECT_EQ(choose_node(key, load, 1.25), ranked[1]);
  load[ranked[1]] = 3;  // bound ceil(1.25 x 12 / 4) = 4: 3 + 1 is at it, and fits
  EXPECT_EQ(choose_node(key, load, 1.25), ranked[1]);
  load[ranked[1]] = 6;  // bound ceil(1.25 x 15 / 4) = 5: 6 + 1 is past it, on to the third

  EXPECT_EQ(choose_node(key, load, 1.25), ranked[2]);
}

TEST(RouteChoice, ALargeLoadFactorKeepsTheQuestionOnItsPreferredNode) {
  auto load = idle_fleet(3);
  std::vector<std::string> names;
  for (const auto& [n, l] : load) names.push_back(n);
  const uint64_t key = route_key({"popular"});
  const std::string first = AffinityRing(names).preferred_for_key(key);
  load[first] = 10;
  EXPECT_NE(choose_node(key, load, 1.0), first);
  EXPECT_EQ(choose_node(key, load, 100), first);
}

TEST(RouteChoice, RefusesNoNodesAndABadLoadFactor) {
  EXPECT_THROW(choose_node(1, {}, 1.25), InvalidArgument);
  EXPECT_THROW(choose_node(1, idle_fleet(2), 0.5), InvalidArgument);
  EXPECT_THROW(choose_node(1, idle_fleet(2), std::nan("")), InvalidArgument);
  EXPECT_THROW(route_key({}), InvalidArgument);
  EXPECT_THROW(route_key({""}), InvalidArgument);
}

}  // namespace
}  // namespace cdb
