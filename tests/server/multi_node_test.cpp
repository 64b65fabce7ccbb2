// Two `cartridge serve` nodes sharing one PostgreSQL catalog and one S3
// bucket (s3rver), each with its own data directory (its LMDB a cache):
// what one does, the other sees; SHOW NODES lists both; a DROP on one
// evicts on the other; both answer after PostgreSQL restarts. (An unreachable PostgreSQL or bucket at start is
// covered by CatalogFlag and ServeBlobsOnS3.)
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <sstream>

#include "server/server_process.h"
#include "support/postgres_server.h"
#include "support/s3rver_process.h"

namespace cdb::test {
namespace {

// One fleet per test: a fresh catalog database, a bucket, nodes A and B.
// B keeps its default name (host:port of --listen).
class Fleet : public ::testing::Test {
 protected:
  Fleet()
      : catalog_(PostgresServer::shared().create_database()),
        a(node_args({"--node-name", "node-a"}), "node-a"),
        b(node_args({}), "node-b") {}

  std::vector<std::string> node_args(std::vector<std::string> extra) {
    ::setenv("AWS_ACCESS_KEY_ID", S3rverProcess::kAccessKey, 1);
    ::setenv("AWS_SECRET_ACCESS_KEY", S3rverProcess::kSecretKey, 1);
    std::vector<std::string> args = {"--auth",         "trust",           "--catalog",
                                     catalog_,         "--blobs",         "s3://cdb-test/fleet",
                                     "--s3-endpoint",  s3_.endpoint(),    "--heartbeat-interval",
                                     "0.2"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  // cartridge serve's default name: the machine's host name and the port.
  std::string b_name() const {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0 || !host[0]) std::snprintf(host, sizeof host, "localhost");
    return std::string(host) + ":" + std::to_string(b.port());
  }


  S3rverProcess s3_;
  std::string catalog_;
  ServerProcess a, b;
};

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST_F(Fleet, ACorpusCreatedOnOneNodeIsVisibleOnTheOther) {
  auto r = a.psql(kSetupPets);
  ASSERT_EQ(r.status, 0) << r.output << a.log();
  r = b.psql_rows("SHOW DOCUMENTS IN pets");
  EXPECT_EQ(r.status, 0) << r.output << b.log();
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 2) << r.output;
  // B reads A's documents from the bucket: its answer uses them.
  r = b.psql("ASK 'Who has a cat?' USING pets WITH (max_tokens = 4)");
  EXPECT_EQ(r.status, 0) << r.output << b.log();
}

TEST_F(Fleet, BothNodesAnswerAfterPostgreSqlRestarts) {
  auto r = a.psql(kSetupPets);
  ASSERT_EQ(r.status, 0) << r.output << a.log();
  // This test's process has a cluster of its own (PostgresServer::shared()).
  PostgresServer::shared().restart();
  // Each node's catalog connection is made again by its next statement.
  r = b.psql_rows("SHOW DOCUMENTS IN pets");
  EXPECT_EQ(r.status, 0) << r.output << b.log();
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 2) << r.output;
  r = a.psql("ADD DOCUMENT 'Carol has a parrot named Kiwi.' TO pets");
  EXPECT_EQ(r.status, 0) << r.output << a.log();
  r = b.psql_rows("SHOW DOCUMENTS IN pets");
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 3) << r.output << b.log();
  EXPECT_NE(a.log().find("reconnected to the PostgreSQL catalog"), std::string::npos) << a.log();
}

TEST_F(Fleet, ShowNodesListsBothNodesAliveAndTheCartridgeANodeLoaded) {
  auto r = a.psql(std::string(kSetupPets) + "; TRAIN CARTRIDGE FOR pets WITH (steps = 1) WAIT");
  ASSERT_EQ(r.status, 0) << r.output << a.log() << b.log();
  const std::string carts = a.psql_rows("SHOW CARTRIDGES FOR pets").output;
  const std::string id = carts.substr(0, carts.find('|'));
  r = b.psql("ASK 'Mia' USING pets WITH (max_tokens = 4)");
  ASSERT_EQ(r.status, 0) << r.output << b.log();
  // On A: B's row as of its last heartbeat (every 0.2 s).
  const std::string rows = show_nodes_until(a, [&](const std::string& t) {
    const auto f = show_nodes_row(t, b_name());
    return !f.empty() && f[4] == id;
  });
  const auto fa = show_nodes_row(rows, "node-a"), fb = show_nodes_row(rows, b_name());
  ASSERT_FALSE(fa.empty()) << rows;
  ASSERT_FALSE(fb.empty()) << rows;
  EXPECT_EQ(fa[1], "127.0.0.1:" + std::to_string(a.port()));
  EXPECT_EQ(fa[2], "true");
  EXPECT_EQ(fa[7], "true");  // the node asked
  EXPECT_EQ(fb[1], "127.0.0.1:" + std::to_string(b.port()));
  EXPECT_EQ(fb[2], "true");
  EXPECT_EQ(fb[4], id) << rows;  // B holds the Cartridge it answered with
  EXPECT_GT(std::atoll(fb[5].c_str()), 0);
  EXPECT_EQ(fb[7], "false");
  // On B, the same two nodes; B is this node.
  const auto on_b = b.psql_rows("SHOW NODES").output;
  EXPECT_EQ(show_nodes_row(on_b, b_name()).at(7), "true") << on_b;
  EXPECT_EQ(show_nodes_row(on_b, "node-a").at(2), "true") << on_b;
}

TEST_F(Fleet, ADropOnOneNodeEvictsTheCorpusOnTheOther) {
  auto r = a.psql(std::string(kSetupPets) + "; TRAIN CARTRIDGE FOR pets WITH (steps = 1) WAIT");
  ASSERT_EQ(r.status, 0) << r.output << a.log() << b.log();
  r = b.psql("ASK 'Mia' USING pets WITH (max_tokens = 4)");
  ASSERT_EQ(r.status, 0) << r.output << b.log();
  auto b_holds = [&](const std::string& t) {
    const auto f = show_nodes_row(t, b_name());
    return !f.empty() && !f[4].empty();
  };
  ASSERT_TRUE(b_holds(b.psql_rows("SHOW NODES").output)) << b.psql_rows("SHOW NODES").output;
  r = a.psql("DROP CORPUS pets");
  ASSERT_EQ(r.status, 0) << r.output << a.log();
  // B's own row reads its residency now: the event emptied it.
  const std::string rows = show_nodes_until(b, [&](const std::string& t) { return !b_holds(t); });
  EXPECT_FALSE(b_holds(rows)) << rows << b.log();
  r = b.psql("ASK 'Mia' USING pets WITH (max_tokens = 4)");
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_TRUE(has(r.output, "corpus 'pets' does not exist")) << r.output;
}

// A PIN on A loads the Cartridge on B too, without B being asked anything,
// and B's pin moves to the version A trains next.
TEST_F(Fleet, APinOnOneNodeKeepsTheNewestVersionResidentOnTheOther) {
  auto r = a.psql(std::string(kSetupPets) + "; TRAIN CARTRIDGE FOR pets WITH (steps = 1) WAIT");
  ASSERT_EQ(r.status, 0) << r.output << a.log() << b.log();
  auto newest = [&] {  // SHOW CARTRIDGES lists the oldest first
    std::istringstream lines(a.psql_rows("SHOW CARTRIDGES FOR pets").output);
    std::string line, last;
    while (std::getline(lines, line))
      if (!line.empty()) last = line;
    return last.substr(0, last.find('|'));
  };
  const std::string first = newest();
  auto b_holds = [&](const std::string& id) {
    return [this, id](const std::string& t) {
      const auto f = show_nodes_row(t, b_name());
      return !f.empty() && has("," + f[4] + ",", "," + id + ",");
    };
  };
  ASSERT_FALSE(b_holds(first)(b.psql_rows("SHOW NODES").output));
  r = a.psql("PIN CARTRIDGE FOR pets");
  ASSERT_EQ(r.status, 0) << r.output << a.log();
  std::string rows = show_nodes_until(b, b_holds(first));
  ASSERT_TRUE(b_holds(first)(rows)) << rows << b.log();

  r = a.psql("ADD DOCUMENT 'Ana has a bird named Kiwi.' TO pets; TRAIN CARTRIDGE FOR pets WITH (steps = 1) WAIT");
  ASSERT_EQ(r.status, 0) << r.output << a.log();
  const std::string second = newest();
  ASSERT_NE(second, first) << a.psql_rows("SHOW CARTRIDGES FOR pets").output;
  rows = show_nodes_until(b, b_holds(second));
  EXPECT_TRUE(b_holds(second)(rows)) << rows << b.log();
}

TEST_F(Fleet, ANameALiveNodeHoldsIsRefusedToAnotherNode) {
  try {
    ServerProcess third(node_args({"--node-name", "node-a"}), "node-c");
    FAIL() << "a second node-a started";
  } catch (const std::runtime_error& e) {
    EXPECT_TRUE(has(e.what(), "node name 'node-a' is in use by the live node at 127.0.0.1:" + std::to_string(a.port())))
        << e.what();
  }
  // A's row is still A's.
  const auto f = show_nodes_row(a.psql_rows("SHOW NODES").output, "node-a");
  ASSERT_FALSE(f.empty());
  EXPECT_EQ(f[1], "127.0.0.1:" + std::to_string(a.port()));
}

TEST(FleetNodeName, AHostileNodeNameStopsTheServerAtStartWithAClearError) {
  try {
    ServerProcess server({"--auth", "trust", "--node-name", "two words"});
    FAIL() << "the server started";
  } catch (const std::runtime_error& e) {
    EXPECT_TRUE(has(e.what(), "printable ASCII without spaces")) << e.what();
  }
}

}  // namespace
}  // namespace cdb::test
