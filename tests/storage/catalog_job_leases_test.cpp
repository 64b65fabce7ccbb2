// Jobs across nodes sharing one catalog (sql/006_job_leases.sql), on both
// backends: concurrent claimers on separate connections each get a
// different job, a lease that expires lets another node take the job over
// (and its renewal then fails on the first node), and the debounced
// auto-training job of one corpus version is queued once however many
// nodes ask at once.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "storage/catalog.h"
#include "support/catalog_site.h"

namespace cdb {
namespace {

class CatalogJobLeases : public ::testing::TestWithParam<test::CatalogBackend> {
 protected:
  test::CatalogSite site_{GetParam()};
};
INSTANTIATE_TEST_SUITE_P(Both, CatalogJobLeases, test::kCatalogBackends, test::catalog_backend_name);

TEST_P(CatalogJobLeases, ConcurrentClaimersOnSeparateConnectionsClaimEveryJobExactlyOnce) {
  constexpr int kJobs = 120, kNodes = 4, kThreadsPerNode = 2;
  std::vector<std::unique_ptr<Catalog>> nodes;
  for (int n = 0; n < kNodes; ++n) nodes.push_back(site_.open());
  const int64_t corpus = nodes[0]->create_corpus("c").id;
  for (int i = 0; i < kJobs; ++i) nodes[0]->create_job("train", corpus);

  std::mutex mu;
  std::map<int64_t, std::string> claimed_by;
  std::atomic<int> duplicates{0};
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int n = 0; n < kNodes; ++n)
    for (int t = 0; t < kThreadsPerNode; ++t)
      threads.emplace_back([&, n] {
        const std::string node = "node" + std::to_string(n);
        // All start together, and each claim is followed by a moment of
        // "work", so that the claims interleave rather than one thread
        // draining the queue before the others have started.
        ++ready;
        while (ready < kNodes * kThreadsPerNode) std::this_thread::yield();
        while (auto job = nodes[n]->claim_job(node, 60'000, 1'000)) {
          {
            std::lock_guard lock(mu);
            if (!claimed_by.emplace(job->id, node).second) ++duplicates;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
      });
  for (auto& t : threads) t.join();
  EXPECT_EQ(duplicates.load(), 0);
  ASSERT_EQ(claimed_by.size(), static_cast<size_t>(kJobs));
  for (const auto& j : nodes[0]->list_jobs()) {
    EXPECT_EQ(j.state, JobState::Running);
    EXPECT_EQ(j.attempts, 1);
    EXPECT_EQ(nodes[0]->job_lease(j.id)->owner, claimed_by[j.id]);
  }
  // On PostgreSQL the claims ran side by side (SKIP LOCKED never waits):
  // more than one node got work. SQLite has one writer at a time by design,
  // and its busy wait may let one node drain the queue.
  std::set<std::string> workers;
  for (const auto& [id, node] : claimed_by) workers.insert(node);
  if (GetParam() == test::CatalogBackend::PostgreSql) EXPECT_GT(workers.size(), 1u);
}

TEST_P(CatalogJobLeases, AJobWhoseLeaseExpiredIsClaimedByAnotherNodeAndTheFirstLosesIt) {
  auto a = site_.open(), b = site_.open();
  const int64_t corpus = a->create_corpus("c").id;
  const int64_t id = a->create_job("train", corpus).id;
  ASSERT_EQ(a->claim_job("a", 1'000, 10'000)->id, id);
  EXPECT_EQ(a->job_lease(id)->expires_ms, 11'000);
  EXPECT_FALSE(b->claim_job("b", 1'000, 10'500));  // a's lease still holds
  EXPECT_TRUE(a->renew_lease(id, "a", 1'000, 10'900));
  EXPECT_FALSE(b->claim_job("b", 1'000, 11'500));  // renewed until 11'900
  // a stops renewing (it died): past the lease, b takes the job over.
  const auto taken = b->claim_job("b", 1'000, 12'000);
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->id, id);
  EXPECT_EQ(taken->attempts, 2);
  EXPECT_EQ(b->job_lease(id)->owner, "b");
  EXPECT_FALSE(a->renew_lease(id, "a", 1'000, 12'100));  // a must stop
  EXPECT_TRUE(b->renew_lease(id, "b", 1'000, 12'100));
  b->finish_job(id, JobState::Done);
  EXPECT_FALSE(b->renew_lease(id, "b", 1'000, 12'200));
  EXPECT_FALSE(a->claim_job("a", 1'000, 99'000));  // a finished job is never claimed again
}

TEST_P(CatalogJobLeases, AQueuedJobIsNotClaimedBeforeItsDebounceEnds) {
  auto c = site_.open();
  const int64_t corpus = c->create_corpus("c").id;
  bool created = false;
  const auto job = c->create_auto_job(corpus, 1, R"({"auto": true})", 5'000, &created);
  EXPECT_TRUE(created);
  EXPECT_FALSE(c->claim_job("n", 1'000, 4'999));
  EXPECT_EQ(c->claim_job("n", 1'000, 5'000)->id, job.id);
}

TEST_P(CatalogJobLeases, NodesQueueingAutoTrainingForOneCorpusVersionAtOnceQueueOneJob) {
  constexpr int kNodes = 6;
  std::vector<std::unique_ptr<Catalog>> nodes;
  for (int n = 0; n < kNodes; ++n) nodes.push_back(site_.open());
  const int64_t corpus = nodes[0]->create_corpus("c").id;
  for (int64_t version = 1; version <= 3; ++version) {
    std::atomic<int> creators{0};
    std::vector<int64_t> ids(kNodes);
    std::vector<std::thread> threads;
    for (int n = 0; n < kNodes; ++n)
      threads.emplace_back([&, n] {
        bool created = false;
        ids[n] = nodes[n]->create_auto_job(corpus, version, R"({"auto": true})", 0, &created).id;
        if (created) ++creators;
      });
    for (auto& t : threads) t.join();
    EXPECT_EQ(creators.load(), 1) << "version " << version;
    EXPECT_TRUE(std::all_of(ids.begin(), ids.end(), [&](int64_t id) { return id == ids[0]; }));
  }
  EXPECT_EQ(nodes[0]->list_jobs().size(), 3u);  // one per version
}

}  // namespace
}  // namespace cdb
