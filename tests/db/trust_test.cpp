// What a session's SELECT and TRAIN may do to the database it shares (issue
// 14): the pass-through reads only the catalog's views, only visible
// corpora's rows, within limits and without holding the catalog; TRAIN
// queues at most one job per corpus and parameter set.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "jobs/job_table.h"
#include "planner_fixture.h"
#include "support/catalog_site.h"

namespace cdb::test {
namespace {

// The stories model without workers, its catalog on `backend` (a fresh
// database of the test binary's PostgreSQL cluster, or DATA_DIR's file).
DatabaseOptions stories_on(CatalogBackend backend) {
  DatabaseOptions o = stories_options(/*workers=*/false);
  if (backend == CatalogBackend::PostgreSql) o.catalog = PostgresServer::shared().create_database();
  return o;
}

// The pass-through's promises hold on both catalogs (on PostgreSQL through
// PgCatalogReader's copy).
class PassThrough : public ::testing::TestWithParam<CatalogBackend> {
 protected:
  PassThrough() : s(tmp.path() / "db", stories_on(GetParam())) { s.script(pip_and_lola_script()); }
  TempDir tmp;
  Session s;
};

INSTANTIATE_TEST_SUITE_P(Both, PassThrough, kCatalogBackends, catalog_backend_name);

// Issue 14, defect 1: fts3_tokenizer('simple') returned the address of a
// tokenizer module inside libsqlite3.
TEST_P(PassThrough, RefusesFts3TokenizerThatWouldLeakAnAddress) {
  EXPECT_THROW(s.run("SELECT hex(fts3_tokenizer('simple'))"), PermissionDenied);
}

// Issue 14, defect 1: with two arguments it installed a pointer that the
// next fts3tokenize read called (a general protection fault, or worse).
TEST_P(PassThrough, RefusesToInstallATokenizerPointer) {
  EXPECT_THROW(s.run("SELECT fts3_tokenizer('simple', x'4141414141414141')"), PermissionDenied);
  EXPECT_THROW(s.run("SELECT token FROM fts3tokenize WHERE input = 'hello world'"), Error);
  EXPECT_EQ(s.run("SELECT count(*) FROM corpora").rows[0][0], "2");
}

// Issue 14, defect 5: settings held the model's and tokenizer's host paths.
TEST_P(PassThrough, SettingsShowNoHostPath) {
  const QueryResult r = s.run("SELECT * FROM settings");
  const std::string model = s.db->model_path().string();
  for (const auto& row : r.rows)
    for (const auto& cell : row) EXPECT_EQ(cell.find(model), std::string::npos) << cell;
  EXPECT_EQ(r.rows.size(), 1u);
}

// Issue 14, defect 4: printf with a huge width took memory to 3 GB (and
// under a length limit, seconds of one uninterruptible VM instruction).
TEST_P(PassThrough, RefusesPrintfWithAHugeWidth) {
  EXPECT_THROW(s.run("SELECT printf('%.*c', 900000000, 'x')"), PermissionDenied);
}

TEST_P(PassThrough, AValuePastTheLengthLimitFails) {
  std::string e = "'0'";
  for (int i = 0; i < 8; ++i) e = "replace(" + e + ", '0', '0000000000')";  // 10^8 bytes
  EXPECT_THROW(s.run("SELECT length(" + e + ")"), LimitExceeded);
}

// Issue 14, defect 4: a recursive CTE ran on after cancel and the statement
// timeout (both reach the executor as is_cancelled).
TEST_P(PassThrough, CancelStopsARecursiveCte) {
  ExecCallbacks cb;
  const auto t0 = std::chrono::steady_clock::now();
  cb.is_cancelled = [&] { return std::chrono::steady_clock::now() - t0 > std::chrono::milliseconds(100); };
  // Ends by itself after 300 million rows (a minute or more), or at the
  // instruction limit: only the cancel ends it within seconds.
  EXPECT_THROW(s.run("SELECT count(*) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                     "WHERE x < 300000000) SELECT x FROM c)",
                     cb),
               Cancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

// Issue 14, defect 4: while a SELECT ran it held the catalog's mutex, so
// every other session's statement waited for it.
TEST_P(PassThrough, RunsWithoutTheCatalogsMutex) {
  std::unique_lock hold(s.db->store().catalog().mutex());
  auto sel = std::async(std::launch::async, [&] { return s.run("SELECT name FROM corpora ORDER BY name"); });
  const bool done = sel.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  hold.unlock();
  ASSERT_TRUE(done) << "the SELECT waited for the catalog's mutex";
  EXPECT_EQ(sel.get().rows, (std::vector<std::vector<std::string>>{{"lola"}, {"pip"}}));
}

TEST_P(PassThrough, FailsPastTheRowLimitInsteadOfTruncating) {
  EXPECT_THROW(s.run("SELECT x FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                     "LIMIT 100001) SELECT x FROM c)"),
               LimitExceeded);
}

// An ordinary user's SELECT sees the rows of the corpora it may use (here:
// one granted to it), not the others'.
TEST_P(PassThrough, ShowsOnlyTheCorporaTheSessionMaySee) {
  s.run("GRANT USAGE ON CORPUS pip TO bob");
  SessionIdentity bob;
  bob.user = "bob";
  bob.superuser = false;
  bob.quotas = Quotas{};
  bob.confine_server_files = true;
  Executor as_bob(*s.db, bob);
  auto run = [&](const std::string& sql) { return as_bob.execute(lang::parse_statement(sql)); };
  EXPECT_EQ(run("SELECT name FROM corpora").rows, (std::vector<std::vector<std::string>>{{"pip"}}));
  EXPECT_EQ(run("SELECT name FROM documents").rows, (std::vector<std::vector<std::string>>{{"pip.txt"}}));
  // Describe goes through the same connection and rules.
  EXPECT_EQ(as_bob.columns(lang::parse_statement("SELECT name, id FROM corpora")),
            (std::vector<std::string>{"name", "id"}));
  EXPECT_THROW(as_bob.columns(lang::parse_statement("SELECT * FROM main.corpora")), PermissionDenied);
  // The superuser's session still sees both.
  EXPECT_EQ(s.run("SELECT count(*) FROM corpora").rows[0][0], "2");
}

// Database::execute may run on several threads at once in one session.
TEST_P(PassThrough, SelectsOfOneSessionOnSeveralThreadsEachGetTheirRows) {
  std::vector<std::thread> threads;
  std::atomic<int> right{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      const std::string name = t % 2 ? "pip" : "lola";
      for (int i = 0; i < 50; ++i)
        if (s.run("SELECT name FROM corpora WHERE name = '" + name + "'").rows ==
            std::vector<std::vector<std::string>>{{name}})
          ++right;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(right.load(), 200);
}

class QueuedJobs : public ::testing::Test {
 protected:
  QueuedJobs() : s(tmp.path() / "db", stories_options(/*workers=*/false)) { s.script(pip_and_lola_script()); }
  TempDir tmp;
  Session s;
  int64_t train(const std::string& options) { return std::stoll(s.run("TRAIN CARTRIDGE FOR pip " + options).at(0, "job")); }
};

TEST_F(QueuedJobs, ATrainEqualToAQueuedJobReturnsThatJob) {
  const int64_t first = train("WITH (steps = 3)");
  EXPECT_EQ(train("WITH (steps = 3)"), first);
  // A new version meanwhile: still that job, which trains the latest version.
  s.run("ADD DOCUMENT 'Pip found a shiny stone.' TO pip");
  EXPECT_EQ(train("WITH (steps = 3)"), first);
  EXPECT_EQ(s.db->jobs().table().list().size(), 1u);
  // Other parameters or another corpus: a job of their own.
  EXPECT_NE(train("WITH (steps = 4)"), first);
  EXPECT_NE(std::stoll(s.run("TRAIN CARTRIDGE FOR lola WITH (steps = 3)").at(0, "job")), first);
  EXPECT_EQ(s.db->jobs().table().list().size(), 3u);
}

TEST_F(QueuedJobs, ATrainWhileTheEqualJobRunsOnTheLatestVersionJoinsIt) {
  const int64_t first = train("WITH (steps = 3)");
  int64_t next_ms = 0;
  auto running = s.db->jobs().table().claim_next("node-a", 60'000, unix_ms_now(), &next_ms);
  ASSERT_TRUE(running.has_value());
  ASSERT_EQ(running->id, first);
  // It trains the version this TRAIN would: one job, one new version (on
  // one node or on several sharing the catalog).
  EXPECT_EQ(train("WITH (steps = 3)"), first);
}

TEST_F(QueuedJobs, ATrainWhileTheEqualJobRunsOnAnOlderVersionQueuesANewOne) {
  const int64_t first = train("WITH (steps = 3)");
  int64_t next_ms = 0;
  auto running = s.db->jobs().table().claim_next("node-a", 60'000, unix_ms_now(), &next_ms);
  ASSERT_TRUE(running.has_value());
  s.run("ADD DOCUMENT 'Pip paints the fence green on Sundays.' TO pip");
  EXPECT_NE(train("WITH (steps = 3)"), first);
}

}  // namespace
}  // namespace cdb::test
