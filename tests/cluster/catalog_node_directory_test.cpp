// CatalogNodeDirectory on both catalogs: the node registry that SHOW NODES
// reads, shared by every node of a fleet through the catalog.
#include <gtest/gtest.h>

#include "cluster/catalog_node_directory.h"
#include "common/error.h"
#include "storage/sql_statement.h"
#include "support/catalog_site.h"

namespace cdb {
namespace {

using Clock = std::chrono::system_clock;

NodeReport catalog_node(const std::string& name, std::vector<std::vector<int64_t>> resident, Clock::time_point at) {
  NodeReport r;
  r.name = name;
  r.address = "10.0.0.1:5433";
  r.resident = std::move(resident);
  r.resident_bytes = 100 * static_cast<int64_t>(r.resident.size());
  r.budget_bytes = 1000;
  r.heartbeat = at;
  r.started = at - std::chrono::seconds(5);
  return r;
}

// Catalog times are whole milliseconds.
Clock::time_point ms_floor(Clock::time_point t) { return std::chrono::floor<std::chrono::milliseconds>(t); }

class CatalogNodeDirectoryOn : public ::testing::TestWithParam<test::CatalogBackend> {
 protected:
  test::CatalogSite site{GetParam()};
  std::unique_ptr<Catalog> catalog = site.open();
  CatalogNodeDirectory dir{*catalog};
};
INSTANTIATE_TEST_SUITE_P(Both, CatalogNodeDirectoryOn, test::kCatalogBackends, test::catalog_backend_name);

TEST_P(CatalogNodeDirectoryOn, KeepsEachNodesLatestReportAndWhoHoldsWhat) {
  const auto t0 = ms_floor(Clock::now());
  dir.heartbeat(catalog_node("b", {{1}}, t0));
  dir.heartbeat(catalog_node("a", {{7}, {7, 8}}, t0));
  dir.heartbeat(catalog_node("b", {{3}, {4, 5}}, t0 + std::chrono::seconds(1)));
  const auto nodes = dir.nodes();
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_EQ(nodes[0].name, "a");
  EXPECT_EQ(nodes[1].resident, (std::vector<std::vector<int64_t>>{{3}, {4, 5}}));
  EXPECT_EQ(nodes[1].resident_bytes, 200);
  EXPECT_EQ(nodes[1].heartbeat, t0 + std::chrono::seconds(1));
  EXPECT_EQ(nodes[1].started, t0 - std::chrono::seconds(4));
  EXPECT_EQ(dir.holders(7), std::vector<std::string>{"a"});
  EXPECT_TRUE(dir.holders(8).empty());  // only in a composition
  EXPECT_TRUE(dir.remove("a"));
  EXPECT_FALSE(dir.remove("a"));
  EXPECT_FALSE(dir.node("a").has_value());
}

TEST_P(CatalogNodeDirectoryOn, KeepsEachNodesRoutingLoadAndCountersAndRefusesNegativeOnes) {
  NodeReport r = catalog_node("a", {}, ms_floor(Clock::now()));
  r.asks_in_flight = 3;
  r.asks_forwarded = 11;
  r.asks_received = 7;
  r.asks_fallback = 2;
  dir.heartbeat(r);
  const auto back = dir.node("a");
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->asks_in_flight, 3);
  EXPECT_EQ(back->asks_forwarded, 11);
  EXPECT_EQ(back->asks_received, 7);
  EXPECT_EQ(back->asks_fallback, 2);
  r.asks_fallback = -1;
  EXPECT_THROW(dir.heartbeat(r), InvalidArgument);
}

TEST_P(CatalogNodeDirectoryOn, ExpiresTheNodesThatStoppedReporting) {
  const auto now = ms_floor(Clock::now());
  dir.heartbeat(catalog_node("dead", {}, now - std::chrono::minutes(5)));
  dir.heartbeat(catalog_node("live", {}, now));
  EXPECT_EQ(dir.expire(now - std::chrono::minutes(1)), std::vector<std::string>{"dead"});
  ASSERT_EQ(dir.nodes().size(), 1u);
  EXPECT_EQ(dir.nodes()[0].name, "live");
}

TEST_P(CatalogNodeDirectoryOn, RefusesHostileNamesAndAddressesBeforeTheyReachTheCatalog) {
  const auto now = Clock::now();
  for (const std::string name : {std::string(), std::string("a b"), std::string("a\nb"), std::string(200, 'x'),
                                 std::string("n\x01"), std::string("caf\xc3\xa9")}) {
    EXPECT_THROW(dir.heartbeat(catalog_node(name, {}, now)), InvalidArgument) << name;
  }
  NodeReport r = catalog_node("ok", {}, now);
  r.address = std::string(300, 'a');
  EXPECT_THROW(dir.heartbeat(r), InvalidArgument);
  r = catalog_node("ok", {{0}}, now);
  EXPECT_THROW(dir.heartbeat(r), InvalidArgument);
  r = catalog_node("ok", {}, now);
  r.resident_bytes = -1;
  EXPECT_THROW(dir.heartbeat(r), InvalidArgument);
  EXPECT_TRUE(dir.nodes().empty());
}

TEST_P(CatalogNodeDirectoryOn, ReadsARowOthersWroteBadlyAsTheEntriesThatParse) {
  {
    std::lock_guard lock(catalog->mutex());
    Statement(catalog->db(),
              "INSERT INTO nodes (name, address, started_at, heartbeat_at, resident, resident_bytes, budget_bytes) "
              "VALUES ('odd', 'x:1', 0, 0, '3,,4+x,-5,6+7,99999999999999999999999,8', 1, 2)")
        .run();
  }
  const auto n = dir.node("odd");
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->resident, (std::vector<std::vector<int64_t>>{{3}, {6, 7}, {8}}));
}

TEST(CatalogNodeDirectory, WritesTheResidentListAsItReadsIt) {
  const std::vector<std::vector<int64_t>> r{{3}, {4, 5}, {9007199254740993}};
  EXPECT_EQ(CatalogNodeDirectory::format_resident(r), "3,4+5,9007199254740993");
  EXPECT_EQ(CatalogNodeDirectory::parse_resident(CatalogNodeDirectory::format_resident(r)), r);
  EXPECT_TRUE(CatalogNodeDirectory::parse_resident("").empty());
}

}  // namespace
}  // namespace cdb
