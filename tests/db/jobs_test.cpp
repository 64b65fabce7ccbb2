// Training jobs: background runs with progress, cancel, auto_train's
// debounce and supersede, version visibility and collection, and a process
// killed mid-job whose job resumes from its checkpoint after a restart.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "engine/generator.h"
#include "storage/blob_store.h"
#include "residency/residency_manager.h"
#include "planner_fixture.h"
#include "support/killed_child.h"

namespace cdb::test {
namespace {

// A corpus description that leaves self-study no room in stories260K's
// 512-token window.
const std::string kTooLongDescription = [] {
  std::string s;
  for (int i = 0; i < 200; ++i) s += "Pip the frog. ";
  return s;
}();

// Small runs: a few seconds each on two cores.
const std::string kTiny = "WITH (steps = 4, conversations = 4, batch_size = 4, max_new_tokens = 24, checkpoint_every = 2)";

JobState job_state(Session& s, int64_t id) { return s.db->jobs().table().find(id)->row.state; }

TEST(Jobs, TrainWaitReportsProgressAndCommitsAVersion) {
  TempDir tmp;
  Session s(tmp.path() / "db", stories_options());
  s.script("CREATE CORPUS pip WITH (cartridge_tokens = 12); ADD DOCUMENT '" + std::string(kPipText) + "' TO pip;");
  std::vector<JobProgress> seen;
  ExecCallbacks cb;
  cb.on_progress = [&](const JobProgress& p) { seen.push_back(p); };
  auto r = s.run("TRAIN CARTRIDGE FOR pip " + kTiny + " WAIT", cb);
  EXPECT_EQ(r.at(0, "state"), "done");
  ASSERT_FALSE(seen.empty());
  bool synth = false, trained = false;
  for (const auto& p : seen) {
    synth |= p.phase == "synthesizing";
    if (p.phase == "training") {
      trained = true;
      EXPECT_TRUE(std::isfinite(p.loss));
      EXPECT_EQ(p.total_steps, 4);
    }
  }
  EXPECT_TRUE(synth);
  EXPECT_TRUE(trained);
  EXPECT_EQ(seen.back().state, JobState::Done);
  auto plan = s.run("EXPLAIN ASK 'Pip' USING pip");
  EXPECT_EQ(plan.at(0, "source"), "cartridge");
  EXPECT_EQ(plan.at(0, "cartridge"), r.at(0, "cartridge"));
  EXPECT_EQ(plan.at(0, "tokens"), "12");
  auto jobs = s.run("SHOW JOBS");
  EXPECT_EQ(jobs.at(0, "step"), "4");
  EXPECT_EQ(jobs.at(0, "progress"), "1.000");
  EXPECT_FALSE(jobs.at(0, "loss").empty());
  // Its scratch (dataset, checkpoints) is gone.
  size_t keys = 0;
  s.db->scratch().read().for_each("job/", [&](std::string_view, size_t) { ++keys; });
  EXPECT_EQ(keys, 0u);
}

TEST(Jobs, CancelStopsARunningJob) {
  TempDir tmp;
  Session s(tmp.path() / "db", stories_options());
  s.script("CREATE CORPUS pip; ADD DOCUMENT '" + std::string(kPipText) + "' TO pip;");
  const int64_t id = std::stoll(
      s.run("TRAIN CARTRIDGE FOR pip WITH (steps = 100000, conversations = 4, batch_size = 4, max_new_tokens = 16)")
          .at(0, "job"));
  // Wait until it trains, then cancel.
  ExecCallbacks cb;
  std::thread canceller;
  bool cancelled = false;
  cb.on_progress = [&](const JobProgress& p) {
    if (p.phase == "training" && p.step >= 1 && !cancelled) {
      cancelled = true;
      canceller = std::thread([&] { s.run("CANCEL JOB " + std::to_string(id)); });
    }
  };
  EXPECT_THROW(s.run("WAIT JOB " + std::to_string(id), cb), Cancelled);
  if (canceller.joinable()) canceller.join();
  EXPECT_TRUE(cancelled);
  EXPECT_EQ(job_state(s, id), JobState::Cancelled);
  EXPECT_EQ(s.run("SHOW CARTRIDGES").rows.size(), 0u);
  EXPECT_THROW(s.run("CANCEL JOB " + std::to_string(id)), InvalidArgument);
  EXPECT_THROW(s.run("CANCEL JOB 999"), NotFound);
}

TEST(Jobs, AutoTrainDebouncesAndSupersedes) {
  TempDir tmp;
  Session s(tmp.path() / "db", stories_options());
  s.run("CREATE CORPUS pip WITH (auto_train = true, debounce_ms = 1500, train_steps = 2, train_conversations = 4)");
  auto t0 = std::chrono::steady_clock::now();
  const int64_t first = std::stoll(s.run("ADD DOCUMENT '" + std::string(kPipText) + "' TO pip").at(0, "auto_train_job"));
  const int64_t second = std::stoll(s.run("ADD DOCUMENT '" + std::string(kLolaText) + "' TO pip").at(0, "auto_train_job"));
  ASSERT_NE(first, second);
  auto a = s.db->jobs().table().find(first);
  EXPECT_EQ(a->row.state, JobState::Cancelled);
  EXPECT_EQ(*a->row.error, "superseded by job " + std::to_string(second) + " (the corpus changed again)");
  // Debounced: still queued a moment later although a worker is idle.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(job_state(s, second), JobState::Queued);
  auto r = s.run("WAIT JOB " + std::to_string(second));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(1500));
  EXPECT_EQ(r.at(0, "state"), "done");
  EXPECT_EQ(r.at(0, "corpus_version"), "2");  // both documents
  // An explicit TRAIN is never superseded by auto_train.
  const int64_t manual = std::stoll(s.run("TRAIN CARTRIDGE FOR pip " + kTiny).at(0, "job"));
  s.run("REMOVE DOCUMENT '" + s.run("SHOW DOCUMENTS IN pip").rows[0][0] + "' FROM pip");
  EXPECT_NE(job_state(s, manual), JobState::Cancelled);
  try {
    s.run("CANCEL JOB " + std::to_string(manual));
  } catch (const InvalidArgument&) {
    // it had already finished
  }
}

TEST(Jobs, NewVersionsAreVisibleOldOnesCollectedRunningQueriesKeepTheirs) {
  TempDir tmp;
  Session s(tmp.path() / "db", stories_options());
  s.script("CREATE CORPUS pip WITH (keep_versions = 2, cartridge_tokens = 8); ADD DOCUMENT '" + std::string(kPipText) +
           "' TO pip;");
  auto v1 = s.store_cartridge("pip", 8);
  auto v2 = s.store_cartridge("pip", 8);
  // A query in flight holds the oldest version.
  CartridgeRef held = s.db->residency().acquire({v1});
  auto r = s.run("TRAIN CARTRIDGE FOR pip " + kTiny + " WAIT");
  const int64_t v3 = std::stoll(r.at(0, "cartridge"));
  EXPECT_GT(v3, v2.id);
  auto carts = s.run("SHOW CARTRIDGES FOR pip");
  ASSERT_EQ(carts.rows.size(), 2u);  // keep 2: v1 collected
  EXPECT_EQ(carts.at(0, "id"), std::to_string(v2.id));
  EXPECT_EQ(carts.at(1, "id"), std::to_string(v3));
  EXPECT_FALSE(s.db->store().catalog().cartridge(v1.id));
  EXPECT_EQ(s.run("EXPLAIN ASK 'Pip' USING pip").at(0, "cartridge"), std::to_string(v3));
  // The held version still answers.
  GenerateOptions g;
  g.max_tokens = 4;
  g.sampling.temperature = 0;
  auto gen = generate(s.db->model(), s.db->tokenizer(), s.db->tokenizer().encode("Pip", false), &held->cartridge(), g);
  EXPECT_FALSE(gen.tokens.empty());
}

// ---- killed mid-job -------------------------------------------------------

constexpr const char* kChildDir = "CDB_PLANNER_CHILD_DIR";
const std::string kLong = "WITH (steps = 40, conversations = 4, batch_size = 4, max_new_tokens = 24, checkpoint_every = 2)";

// Run only as the child of KilledProcessResumesFromCheckpoint.
TEST(Jobs, AJobThatFailsSurfacesAsJobFailedWithItsOwnErrorNotAsAnInternalError) {
  TempDir tmp;
  Session s(tmp.path() / "db", stories_options());
  // A description longer than the model's window passes TRAIN's checks and
  // fails in the job (self-study has no room left for a chunk of the
  // corpus): the error is raised on the worker, not in the statement.
  s.script("CREATE CORPUS wordy WITH (description = '" + kTooLongDescription + "'); ADD DOCUMENT '" +
           std::string(kPipText) + "' TO wordy;");
  try {
    s.run("TRAIN CARTRIDGE FOR wordy " + kTiny + " WAIT");
    FAIL() << "the job succeeded";
  } catch (const JobFailed& e) {
    EXPECT_EQ(e.kind(), ErrorKind::JobFailed);
    EXPECT_NE(std::string(e.what()).find("job 1 failed: synthesize: no room for a chunk"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(s.run("WAIT JOB 1"), JobFailed);
  EXPECT_EQ(job_state(s, 1), JobState::Failed);
}

TEST(JobsCrash, DISABLED_Child) {
  const char* dir = std::getenv(kChildDir);
  const auto out = test::ChildReporter::from_env();
  if (!dir || !out) GTEST_SKIP() << "only run by JobsCrash.KilledProcessResumesFromCheckpoint";
  Session s(dir, stories_options());
  s.script("CREATE CORPUS pip WITH (cartridge_tokens = 8); ADD DOCUMENT '" + std::string(kPipText) + "' TO pip;");
  ExecCallbacks cb;
  cb.on_progress = [&](const JobProgress& p) {
    if (p.checkpointed) out->report(p.step);
  };
  s.run("TRAIN CARTRIDGE FOR pip " + kLong + " WAIT", cb);
  std::abort();  // must have been killed before the end
}

TEST(JobsCrash, KilledProcessResumesFromCheckpoint) {
  TempDir tmp;
  const auto dir = tmp.path() / "db";
  auto child = test::KilledChild::exec_self("JobsCrash.DISABLED_Child", {{kChildDir, dir.string()}});
  // Wait for the second checkpoint (step 4), then kill.
  const std::vector<int64_t> steps = child.wait_reports(2);
  const auto exit = child.kill_and_reap();
  ASSERT_EQ(steps.size(), 2u) << "the child never reported two checkpoints";
  ASSERT_TRUE(exit.killed) << "the child ended before it was killed";
  const int64_t killed_after = steps[1];

  // Restart: the job, left running, is queued again and resumes.
  Session s(dir, stories_options());
  auto r = s.run("WAIT JOB 1");
  EXPECT_EQ(r.at(0, "state"), "done");
  auto d = s.db->jobs().table().find(1);
  EXPECT_EQ(d->row.attempts, 2);
  auto m = s.run("SELECT json_extract(metrics, '$.resumed_from') FROM cartridges");
  ASSERT_EQ(m.rows.size(), 1u);
  EXPECT_GE(std::stoll(m.rows[0][0]), killed_after);
  EXPECT_EQ(s.run("EXPLAIN ASK 'Pip' USING pip").at(0, "source"), "cartridge");
}

}  // namespace
}  // namespace cdb::test
