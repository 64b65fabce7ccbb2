// Routing of ASK among serve nodes (docs/scale-out.md, "Routing"): two
// `cartridge serve` nodes with --route on share one PostgreSQL catalog, one
// s3rver bucket and one cluster secret. An ASK sent to the node its corpus
// does not prefer is relayed to the node it does, which answers it as a
// local ASK would; a peer that stops or dies costs a bounded wait and the
// asked node answers; the node login cannot be used without the secret nor
// by a plain user to act for another.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cartridgedb/cartridgedb.h"
#include "cluster/route_choice.h"
#include "server/server_process.h"
#include "support/postgres_server.h"
#include "support/s3rver_process.h"

namespace cdb::test {
namespace {

const std::string kClusterSecret = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

// A corpus name whose questions node-b is preferred for over node-a (both idle).
std::string corpus_preferring_b() {
  const std::map<std::string, int64_t> idle = {{"node-a", 0}, {"node-b", 0}};
  for (int i = 0;; ++i) {
    const std::string name = "pets" + std::to_string(i);
    if (choose_node(route_key({name}), idle, 1.25) == "node-b") return name;
  }
}

std::string secret_file(const TempDir& dir) {
  const auto path = dir.path() / "cluster.secret";
  write_text(path, kClusterSecret + "\n");
  ::chmod(path.c_str(), 0600);
  return path.string();
}

// Columns of SHOW NODES' row.
constexpr size_t kCartridges = 4, kForwarded = 9, kReceived = 10, kFallback = 11;

class Routing : public ::testing::Test {
 protected:
  Routing()
      : catalog_(PostgresServer::shared().create_database()),
        secret_(secret_file(dir_)),
        a(node_args("node-a"), "node-a"),
        b(node_args("node-b"), "node-b"),
        corpus(corpus_preferring_b()) {}

  std::vector<std::string> node_args(const std::string& name) {
    ::setenv("AWS_ACCESS_KEY_ID", S3rverProcess::kAccessKey, 1);
    ::setenv("AWS_SECRET_ACCESS_KEY", S3rverProcess::kSecretKey, 1);
    // Heartbeats every second: a stopped peer stays "alive" for 3 s, long
    // enough for the tests to reach it stopped or dead.
    return {"--auth",         "trust",          "--catalog",   catalog_,
            "--blobs",        "s3://cdb-test/routing",         "--s3-endpoint",
            s3_.endpoint(),   "--heartbeat-interval",          "1",
            "--node-name",    name,             "--route",     "on",
            "--cluster-secret-file",            secret_,       "--route-timeout",
            "1",              "--route-relay-timeout",         "2"};
  }
  void setup_corpus() {
    auto r = a.psql("CREATE CORPUS " + corpus +
                    "; ADD DOCUMENT 'Mia has a cat named Tom. Tom likes to sleep in the sun.' TO " + corpus);
    ASSERT_EQ(r.status, 0) << r.output << a.log();
  }
  std::string ask(const ServerProcess& on) const {
    auto r = on.psql_rows("ASK 'Mia has a' USING " + corpus + " WITH (max_tokens = 12)");
    EXPECT_EQ(r.status, 0) << r.output << on.log();
    return r.output;
  }

  TempDir dir_{"routing"};
  S3rverProcess s3_;
  std::string catalog_, secret_;
  ServerProcess a, b;
  std::string corpus;
};

TEST_F(Routing, AnAskSentToTheNodeItsCorpusDoesNotPreferIsAnsweredByTheNodeItDoesAsALocalAskWouldBe) {
  setup_corpus();
  auto r = a.psql("TRAIN CARTRIDGE FOR " + corpus + " WITH (steps = 1) WAIT");
  ASSERT_EQ(r.status, 0) << r.output << a.log() << b.log();
  const std::string carts = a.psql_rows("SHOW CARTRIDGES FOR " + corpus).output;
  const std::string id = carts.substr(0, carts.find('|'));
  auto timed = [&](const ServerProcess& on, double& seconds) {
    const auto t0 = std::chrono::steady_clock::now();
    std::string out = ask(on);
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return out;
  };
  double first_s = 0, pooled_s = 0, local_s = 0;
  const std::string via_a = timed(a, first_s);        // relayed to node-b on a new peer connection
  const std::string via_a_again = timed(a, pooled_s);  // on the pooled one
  const std::string on_b = timed(b, local_s);          // answered by node-b itself
  EXPECT_EQ(via_a, on_b);
  EXPECT_EQ(via_a_again, on_b);
  // psql's own start is in each figure alike.
  std::printf("ASK with psql: relayed (new peer connection) %.3f s, relayed (pooled) %.3f s, local %.3f s\n", first_s,
              pooled_s, local_s);
  EXPECT_NE(via_a.find("cartridge " + id), std::string::npos) << via_a;
  // node-b holds the Cartridge and counts two relayed ASKs (its own was
  // local); node-a forwarded two and holds nothing.
  const std::string rows_b = b.psql_rows("SHOW NODES").output;
  const auto fb = show_nodes_row(rows_b, "node-b");
  ASSERT_FALSE(fb.empty()) << rows_b;
  EXPECT_EQ(fb[kCartridges], id) << rows_b;
  EXPECT_EQ(fb[kReceived], "2") << rows_b;
  EXPECT_EQ(fb[kForwarded], "0") << rows_b;
  const auto fa = show_nodes_row(a.psql_rows("SHOW NODES").output, "node-a");
  ASSERT_FALSE(fa.empty());
  EXPECT_EQ(fa[kCartridges], "");
  EXPECT_EQ(fa[kForwarded], "2");
  EXPECT_EQ(fa[kFallback], "0");
  EXPECT_EQ(fa[kReceived], "0");
}

TEST_F(Routing, APeerThatStopsOrDiesCostsABoundedWaitAndTheAskedNodeAnswers) {
  setup_corpus();
  const std::string routed = ask(a);  // relayed to node-b (an ICL answer: no training)
  // A statement timeout on node-a stops the relayed ASK (a relay that did
  // not watch for it would return node-b's answer).
  auto r = a.psql("SET statement_timeout = 1; ASK 'Mia has a' USING " + corpus + " WITH (max_tokens = 12)");
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("57014"), std::string::npos) << r.output;
  // Stopped: the pooled connection's relay times out (--route-relay-timeout 2).
  ASSERT_EQ(::kill(b.pid(), SIGSTOP), 0);
  auto t0 = std::chrono::steady_clock::now();
  const std::string stopped = ask(a);
  const double stopped_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Dead: the connection is refused at once (B's row still looks alive for 3 s).
  ASSERT_EQ(::kill(b.pid(), SIGKILL), 0);
  t0 = std::chrono::steady_clock::now();
  const std::string dead = ask(a);
  const double dead_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(stopped, routed);
  EXPECT_EQ(dead, routed);
  EXPECT_LT(stopped_s, 6.0);
  EXPECT_LT(dead_s, 4.0);
  const auto fa = show_nodes_row(a.psql_rows("SHOW NODES").output, "node-a");
  ASSERT_FALSE(fa.empty());
  EXPECT_EQ(fa[kForwarded], "2");  // the answer and the cancelled one
  EXPECT_GE(std::atoi(fa[kFallback].c_str()), 1);  // the stopped peer; the dead one too unless its row aged out
  EXPECT_NE(a.log().find("routing answers locally"), std::string::npos) << a.log();
  std::printf("stopped peer: %.2f s, dead peer: %.2f s\n", stopped_s, dead_s);
}

// One node with the secret (no fleet needed: the login is the server's).
TEST(RoutingLogin, TheNodeLoginNeedsTheSecretAndNoPlainUserMayActForAnother) {
  TempDir dir("routing-login");
  ServerProcess a({"--auth", "trust", "--cluster-secret-file", secret_file(dir)}, "login");
  auto as_node = [&](const ServerProcess& on, const std::string& password, const std::string& options) {
    return run_command("PGPASSWORD=" + shell_quote(password) + " PGOPTIONS=" + shell_quote(options) +
                       " psql -X -At " + shell_quote(on.conninfo(cartridgedb::node_principal())) +
                       " -c 'SHOW NODES'");
  };
  const std::string password = cartridgedb::node_password(kClusterSecret);
  // The right password, acting for a user: accepted (so the refusals below are refusals).
  auto r = as_node(a, password, "-c cartridgedb.act_as=tester");
  EXPECT_EQ(r.status, 0) << r.output;
  // A wrong password, even under --auth trust.
  r = as_node(a, cartridgedb::node_password(std::string(64, 'x')), "-c cartridgedb.act_as=tester");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("password authentication failed"), std::string::npos) << r.output;
  // The right password without naming a user.
  r = as_node(a, password, "");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("must name the user it acts for"), std::string::npos) << r.output;
  // A plain user naming another.
  r = run_command("PGOPTIONS='-c cartridgedb.act_as=someone' psql -X -At " + shell_quote(a.conninfo("tester")) +
                  " -c 'SHOW NODES'");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("only a cartridgedb node may act for another user"), std::string::npos) << r.output;
  // A server without the secret takes no node login, whatever the password.
  ServerProcess solo({"--auth", "trust"}, "solo");
  r = as_node(solo, password, "-c cartridgedb.act_as=tester");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("password authentication failed"), std::string::npos) << r.output;
}

TEST(RoutingFlags, BadRoutingFlagsStopTheServerAtStartWithAClearError) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--route", "maybe"}, "--route must be on or off"},
      {{"--route", "on"}, "--route on needs a catalog the nodes share"},
      {{"--route", "on", "--catalog", "postgresql://u@127.0.0.1:1/x"}, "--route on needs --cluster-secret-file"},
      {{"--cluster-secret-file", "/nonexistent/secret"}, "cannot open the cluster secret"},
  };
  for (const auto& [flags, message] : cases) {
    std::vector<std::string> args = {"--auth", "trust"};
    args.insert(args.end(), flags.begin(), flags.end());
    try {
      ServerProcess server(args, "flags");
      ADD_FAILURE() << "the server started with " << flags[0] << " " << flags[1];
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
    }
  }
  TempDir dir("flags");
  const auto loose = dir.path() / "loose.secret";
  write_text(loose, kClusterSecret);
  ::chmod(loose.c_str(), 0644);
  try {
    ServerProcess server({"--auth", "trust", "--cluster-secret-file", loose.string()}, "flags");
    ADD_FAILURE() << "the server started with a secret others can read";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("only its owner can read (chmod 600)"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace cdb::test
