#include <gtest/gtest.h>

#include "cluster/in_memory_node_directory.h"
#include "common/error.h"

namespace cdb {
namespace {

NodeReport node_report(const std::string& name, std::vector<std::vector<int64_t>> resident,
                       std::chrono::system_clock::time_point at) {
  NodeReport r;
  r.name = name;
  r.address = name;
  r.resident = std::move(resident);
  r.resident_bytes = 100 * static_cast<int64_t>(r.resident.size());
  r.budget_bytes = 1000;
  r.heartbeat = at;
  return r;
}

TEST(InMemoryNodeDirectory, ReplacesANodesReportAtItsNextHeartbeat) {
  InMemoryNodeDirectory dir;
  const auto t0 = std::chrono::system_clock::now();
  dir.heartbeat(node_report("b:1", {{1}}, t0));
  dir.heartbeat(node_report("a:1", {{2}}, t0));
  dir.heartbeat(node_report("b:1", {{3}, {4, 5}}, t0 + std::chrono::seconds(1)));
  const auto nodes = dir.nodes();
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_EQ(nodes[0].name, "a:1");  // sorted by name
  EXPECT_EQ(nodes[1].resident, (std::vector<std::vector<int64_t>>{{3}, {4, 5}}));
  EXPECT_EQ(nodes[1].resident_bytes, 200);
  EXPECT_EQ(dir.node("b:1")->heartbeat, t0 + std::chrono::seconds(1));
  EXPECT_FALSE(dir.node("c:1").has_value());
}

TEST(InMemoryNodeDirectory, NamesTheNodesHoldingACartridgeAloneNotInACompositionOnly) {
  InMemoryNodeDirectory dir;
  const auto t = std::chrono::system_clock::now();
  dir.heartbeat(node_report("a:1", {{7}, {7, 8}}, t));
  dir.heartbeat(node_report("b:1", {{7, 8}}, t));
  dir.heartbeat(node_report("c:1", {{8}, {7}}, t));
  EXPECT_EQ(dir.holders(7), (std::vector<std::string>{"a:1", "c:1"}));
  EXPECT_EQ(dir.holders(8), (std::vector<std::string>{"c:1"}));
  EXPECT_TRUE(dir.holders(9).empty());
}

TEST(InMemoryNodeDirectory, DropsNodesWhoseLastHeartbeatIsBeforeTheCutoff) {
  InMemoryNodeDirectory dir;
  const auto t = std::chrono::system_clock::now();
  dir.heartbeat(node_report("old:1", {}, t - std::chrono::seconds(30)));
  dir.heartbeat(node_report("new:1", {}, t));
  EXPECT_EQ(dir.expire(t - std::chrono::seconds(10)), std::vector<std::string>{"old:1"});
  EXPECT_EQ(dir.nodes().size(), 1u);
  EXPECT_TRUE(dir.remove("new:1"));
  EXPECT_FALSE(dir.remove("new:1"));
  EXPECT_TRUE(dir.nodes().empty());
}

TEST(InMemoryNodeDirectory, RejectsReportsWithoutANameOrWithNegativeBytes) {
  InMemoryNodeDirectory dir;
  EXPECT_THROW(dir.heartbeat(node_report("", {}, {})), InvalidArgument);
  auto r = node_report("a:1", {}, {});
  r.resident_bytes = -1;
  EXPECT_THROW(dir.heartbeat(r), InvalidArgument);
  EXPECT_TRUE(dir.nodes().empty());
}

}  // namespace
}  // namespace cdb
