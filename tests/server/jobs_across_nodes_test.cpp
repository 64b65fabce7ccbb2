// Jobs across nodes: two `cartridge serve` processes sharing one PostgreSQL
// catalog and one S3 bucket (s3rver on loopback), each with its own data
// directory (its LMDB only a cache of the bucket), run training jobs
// between them: a job whose node is SIGKILLed is finished by the other
// from the dead node's last checkpoint, and TRAINs of one corpus on both
// nodes at once make one job and one new Cartridge version.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "server/server_process.h"
#include "storage/s3/s3_client.h"
#include "support/postgres_server.h"
#include "support/s3rver_process.h"

namespace cdb::test {
namespace {

// A corpus small enough that a training step takes milliseconds.
constexpr const char* kSetupFarm =
    "CREATE CORPUS farm WITH (cartridge_tokens = 8); "
    "ADD DOCUMENT 'Mia has a cat named Tom. Tom likes to sleep in the sun.' TO farm";

class JobsAcrossNodes : public ::testing::Test {
 protected:
  // A node of the fleet: the shared catalog and bucket, its own name, and
  // a 2 s lease, so that a dead node's job moves on within seconds.
  std::vector<std::string> node(const std::string& name) const {
    // The servers read their credentials from the environment, as AWS tools do.
    ::setenv("AWS_ACCESS_KEY_ID", S3rverProcess::kAccessKey, 1);
    ::setenv("AWS_SECRET_ACCESS_KEY", S3rverProcess::kSecretKey, 1);
    return {"--auth",        "trust",  "--catalog",  url_, "--blobs", "s3://cdb-test/fleet", "--s3-endpoint",
            s3_.endpoint(),  "--s3-connect-timeout", "0.5", "--node-name", name, "--job-lease", "2"};
  }
  // One value read from the catalog itself, with PostgreSQL's own psql.
  std::string catalog_value(const std::string& sql) const {
    auto r = run_command("psql -X -At " + shell_quote(url_) + " -c " + shell_quote(sql));
    while (!r.output.empty() && r.output.back() == '\n') r.output.pop_back();
    return r.output;
  }
  // Polls until `sql` returns `want` (or the time is up); returns the last value.
  std::string wait_for_value(const std::string& sql, const std::function<bool(const std::string&)>& ok,
                             std::chrono::seconds limit = std::chrono::seconds(120)) const {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    std::string v;
    while (std::chrono::steady_clock::now() < deadline) {
      v = catalog_value(sql);
      if (ok(v)) return v;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return v;
  }

  S3rverProcess s3_;
  std::string url_ = PostgresServer::shared().create_database();
};

TEST_F(JobsAcrossNodes, AJobWhoseNodeIsKilledIsFinishedByAnotherNodeFromItsCheckpoint) {
  ServerProcess a(node("node-a"), "node-a");
  auto r = a.psql(kSetupFarm);
  ASSERT_EQ(r.status, 0) << r.output << a.log();
  r = a.psql(
      "TRAIN CARTRIDGE FOR farm WITH (steps = 300, conversations = 4, batch_size = 4, max_new_tokens = 24, "
      "checkpoint_every = 2)");
  ASSERT_EQ(r.status, 0) << r.output << a.log();
  // Node A holds the job and has checkpointed (every 2 steps) in the bucket.
  const std::string step = wait_for_value("SELECT step FROM jobs WHERE id = 1 AND lease_owner = 'node-a'",
                                          [](const std::string& v) { return !v.empty() && std::stoll(v) >= 4; });
  ASSERT_FALSE(step.empty()) << a.log();
  ASSERT_GE(std::stoll(step), 4) << a.log();
  // B joins the fleet only now, so that A, not B, took the job.
  ServerProcess b(node("node-b"), "node-b");
  ::kill(a.pid(), SIGKILL);
  a.stop();
  const auto t0 = std::chrono::steady_clock::now();
  r = b.psql("WAIT JOB 1");
  ASSERT_EQ(r.status, 0) << r.output << b.log();
  EXPECT_EQ(catalog_value("SELECT state || ' ' || attempts || ' ' || lease_owner FROM jobs WHERE id = 1"),
            "done 2 node-b");
  EXPECT_NE(b.log().find("node 'node-b' resumes job 1 (attempt 2)"), std::string::npos) << b.log();
  // It went on from A's checkpoint, not from step 0.
  const std::string resumed = catalog_value("SELECT metrics::json->>'resumed_from' FROM cartridges");
  ASSERT_FALSE(resumed.empty());
  EXPECT_GE(std::stoll(resumed), 2) << resumed;
  EXPECT_EQ(catalog_value("SELECT count(*) || ' ' || min(status) FROM cartridges"), "1 ready");
  // The scratch went with the job.
  S3Client bucket(S3rverProcess::client_options(s3_.endpoint()));
  EXPECT_TRUE(bucket.list("fleet/scratch/").empty());
  // B answers from the new Cartridge.
  r = b.psql("EXPLAIN ASK 'Mia' USING farm");
  ASSERT_EQ(r.status, 0) << r.output << b.log();
  EXPECT_NE(r.output.find("cartridge"), std::string::npos) << r.output;
  r = b.psql("ASK 'Mia' USING farm WITH (max_tokens = 4)");
  ASSERT_EQ(r.status, 0) << r.output << b.log();
  std::fprintf(stderr, "node B finished the job %.1f s after A was killed\n",
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

TEST_F(JobsAcrossNodes, TrainsOfOneCorpusOnTwoNodesAtOnceMakeOneVersion) {
  ServerProcess a(node("node-a"), "node-a");
  ServerProcess b(node("node-b"), "node-b");
  auto r = a.psql(kSetupFarm);
  ASSERT_EQ(r.status, 0) << r.output << a.log();
  const std::string train =
      "TRAIN CARTRIDGE FOR farm WITH (steps = 4, conversations = 4, batch_size = 4, max_new_tokens = 24) WAIT";
  CommandResult ra, rb;
  std::thread ta([&] { ra = a.psql(train); });
  std::thread tb([&] { rb = b.psql(train); });
  ta.join();
  tb.join();
  ASSERT_EQ(ra.status, 0) << ra.output << a.log();
  ASSERT_EQ(rb.status, 0) << rb.output << b.log();
  EXPECT_EQ(catalog_value("SELECT count(*) FROM jobs"), "1");
  EXPECT_EQ(catalog_value("SELECT count(*) FROM cartridges"), "1");
  EXPECT_EQ(catalog_value("SELECT state FROM jobs"), "done");
}

// WAIT on one node for a job another node runs: the waiter's notices follow
// the runner's progress through the job's row.
TEST_F(JobsAcrossNodes, WaitOnOneNodeReportsTheProgressOfAJobAnotherNodeRuns) {
  ServerProcess a(node("node-a"), "node-a");
  auto r = a.psql(kSetupFarm);
  ASSERT_EQ(r.status, 0) << r.output << a.log();
  r = a.psql("TRAIN CARTRIDGE FOR farm WITH (steps = 120, conversations = 4, batch_size = 4, max_new_tokens = 24)");
  ASSERT_EQ(r.status, 0) << r.output << a.log();
  ASSERT_FALSE(wait_for_value("SELECT step FROM jobs WHERE id = 1 AND lease_owner = 'node-a'",
                              [](const std::string& v) { return !v.empty(); })
                   .empty())
      << a.log();
  ServerProcess b(node("node-b"), "node-b");
  r = b.psql("WAIT JOB 1");
  ASSERT_EQ(r.status, 0) << r.output << b.log();
  EXPECT_EQ(catalog_value("SELECT state || ' ' || lease_owner FROM jobs WHERE id = 1"), "done node-a");
  // Notices "job 1 training step N/120 ..." with at least two values of N
  // below 120, then the final one.
  std::set<std::string> steps;
  for (size_t at = 0; (at = r.output.find("job 1 training step ", at)) != std::string::npos;) {
    at += std::strlen("job 1 training step ");
    steps.insert(r.output.substr(at, r.output.find('/', at) - at));
  }
  steps.erase("120");
  EXPECT_GE(steps.size(), 2u) << r.output;
  EXPECT_NE(r.output.find("job 1 done step 120/120"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace cdb::test
