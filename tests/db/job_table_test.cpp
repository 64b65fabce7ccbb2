// JobTable (jobs/job_table.h) on both catalog backends: TRAIN joins a
// queued job with equal params, auto-training supersedes the corpus's
// earlier auto jobs and is queued once per corpus version, the runner
// claims the oldest due job, and jobs left running are queued again.
#include "jobs/job_table.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "support/catalog_site.h"

namespace cdb {
namespace {

class JobTables : public ::testing::TestWithParam<test::CatalogBackend> {
 protected:
  test::CatalogSite site_{GetParam()};
  std::unique_ptr<Catalog> catalog_ = site_.open();
  JobTable jobs_{*catalog_};
  int64_t corpus_ = catalog_->create_corpus("c").id;
};
INSTANTIATE_TEST_SUITE_P(Both, JobTables, test::kCatalogBackends, test::catalog_backend_name);

TEST_P(JobTables, TrainJoinsAQueuedJobWithEqualParamsAndQueuesANewOneOtherwise) {
  bool reused = true;
  const auto a = jobs_.create_or_reuse(corpus_, R"({"steps": 4, "lr": 0.5})", &reused);
  EXPECT_FALSE(reused);
  const auto b = jobs_.create_or_reuse(corpus_, R"({"lr": 0.5, "steps": 4})", &reused);  // equal as JSON
  EXPECT_TRUE(reused);
  EXPECT_EQ(a.id, b.id);
  const auto c = jobs_.create_or_reuse(corpus_, R"({"steps": 8})", &reused);
  EXPECT_FALSE(reused);
  EXPECT_NE(c.id, a.id);
  // What `admit` throws queues nothing.
  EXPECT_THROW(jobs_.create_or_reuse(corpus_, R"({"steps": 9})", &reused, [] { throw QuotaExceeded("full"); }),
               QuotaExceeded);
  EXPECT_EQ(jobs_.list().size(), 2u);
}

TEST_P(JobTables, AutoTrainingSupersedesEarlierAutoJobsAndIsQueuedOncePerVersion) {
  const auto v1 = jobs_.create_superseding(corpus_, 1, R"({"auto": true})", 0);
  const auto manual = jobs_.create(corpus_, R"({"steps": 2})", 0);
  const auto v2 = jobs_.create_superseding(corpus_, 2, R"({"auto": true})", 0);
  EXPECT_EQ(jobs_.find(v1.id)->row.state, JobState::Cancelled);
  EXPECT_EQ(*jobs_.find(v1.id)->row.error, "superseded by job " + std::to_string(v2.id) + " (the corpus changed again)");
  EXPECT_EQ(jobs_.find(manual.id)->row.state, JobState::Queued);  // not an auto job
  // Asked again for version 2 (another node heard of it too): the same job, nothing cancelled.
  EXPECT_EQ(jobs_.create_superseding(corpus_, 2, R"({"auto": true})", 0).id, v2.id);
  EXPECT_EQ(jobs_.find(v2.id)->row.state, JobState::Queued);
  EXPECT_EQ(jobs_.list().size(), 3u);
}

TEST_P(JobTables, TheRunnerClaimsTheOldestDueJobAndRequeuesThoseLeftRunning) {
  const auto later = jobs_.create(corpus_, "{}", 5'000);
  const auto now = jobs_.create(corpus_, "{}", 1'000);
  int64_t next = 0;
  const auto first = jobs_.claim_next("node-a", 60'000, 2'000, &next);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->id, now.id);
  EXPECT_EQ(first->state, JobState::Running);
  EXPECT_FALSE(jobs_.claim_next("node-a", 60'000, 2'000, &next));
  EXPECT_EQ(next, 5'000);  // when to look again
  JobProgress p;
  p.job = now.id;
  p.fraction = 0.25;
  p.message = "step 1";
  p.step = 1;
  p.total_steps = 4;
  p.loss = 1.5;
  jobs_.set_progress(p);
  const auto d = *jobs_.find(now.id);
  EXPECT_DOUBLE_EQ(d.row.progress, 0.25);
  EXPECT_EQ(d.step, 1);
  EXPECT_DOUBLE_EQ(*d.loss, 1.5);
  EXPECT_EQ(jobs_.requeue_running("node-a"), 1);  // this node's, left by its crash
  EXPECT_EQ(jobs_.find(now.id)->row.state, JobState::Queued);
  // Once both are due, the oldest (lowest id) first.
  EXPECT_EQ(jobs_.claim_next("node-a", 60'000, 6'000, &next)->id, later.id);
  EXPECT_EQ(jobs_.claim_next("node-a", 60'000, 6'000, &next)->id, now.id);
}

TEST_P(JobTables, ANodeThatLostItsLeaseCanNeitherEndNorPublishTheJob) {
  const auto job = jobs_.create(corpus_, "{}", 0);
  int64_t next = 0;
  ASSERT_EQ(jobs_.claim_next("node-a", 1'000, 10'000, &next)->id, job.id);
  // node-a stalls past its lease; node-b takes the job over.
  const auto taken = jobs_.claim_next("node-b", 1'000, 12'000, &next);
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->attempts, 2);
  EXPECT_FALSE(catalog_->renew_lease(job.id, "node-a", 1'000, 12'500));
  JobProgress p;
  p.job = job.id;
  p.step = 99;
  jobs_.set_progress(p, "node-a");
  EXPECT_EQ(jobs_.find(job.id)->step, 0);
  EXPECT_FALSE(jobs_.finish(job.id, "node-a", JobState::Failed, std::string("stale")));
  EXPECT_FALSE(jobs_.requeue(job.id, "node-a", "stale"));
  {
    Catalog::Transaction tx(*catalog_);
    EXPECT_FALSE(jobs_.complete(job.id, "node-a", 7));
  }
  EXPECT_EQ(jobs_.find(job.id)->row.state, JobState::Running);
  // node-a's restart requeues only its own jobs on a shared catalog.
  if (catalog_->dialect() == SqlDialect::PostgreSql) EXPECT_EQ(jobs_.requeue_running("node-a"), 0);
  {
    Catalog::Transaction tx(*catalog_);
    EXPECT_TRUE(jobs_.complete(job.id, "node-b", 7));
    tx.commit();
  }
  const auto d = *jobs_.find(job.id);
  EXPECT_EQ(d.row.state, JobState::Done);
  EXPECT_EQ(d.cartridge_id, 7);
}

}  // namespace
}  // namespace cdb
