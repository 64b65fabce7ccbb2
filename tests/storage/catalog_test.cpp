#include "storage/catalog.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "support/catalog_site.h"

namespace cdb {
namespace {

// Every test runs on SQLite and on PostgreSQL (support/catalog_site.h).
class Catalogs : public ::testing::TestWithParam<test::CatalogBackend> {
 protected:
  test::CatalogSite site_{GetParam()};
  bool sqlite() const { return GetParam() == test::CatalogBackend::Sqlite; }
};
INSTANTIATE_TEST_SUITE_P(Both, Catalogs, test::kCatalogBackends, test::catalog_backend_name);

TEST_P(Catalogs, MigratesEmptyDatabaseAndRecordsVersions) {
  auto cat = site_.open();
  Catalog& c = *cat;
  const auto all = builtin_migrations();
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all.front().version, 1);
  EXPECT_EQ(c.schema_version(), all.back().version);
  auto applied = c.applied_migrations();
  ASSERT_EQ(applied.size(), all.size());
  EXPECT_EQ(applied[0].second, "initial");
  if (!sqlite()) return;
  Statement wal(c.db(), "PRAGMA journal_mode");
  ASSERT_TRUE(wal.step());
  EXPECT_EQ(wal.text(0), "wal");
  Statement fk(c.db(), "PRAGMA foreign_keys");
  ASSERT_TRUE(fk.step());
  EXPECT_EQ(fk.int64(0), 1);
}

TEST_P(Catalogs, UpgradesAnOlderSchema) {
  // A later migration, as a future issue would add it.
  std::vector<Migration> v2(builtin_migrations().begin(), builtin_migrations().end());
  std::vector<Migration> v1 = v2;
  // Versions may have gaps (migrations of parallel branches): go by number, not count.
  v2.push_back({v2.back().version + 1, "test_extra",
                "CREATE TABLE test_extra (id INTEGER PRIMARY KEY, note TEXT);"
                "ALTER TABLE corpora ADD COLUMN test_note TEXT NOT NULL DEFAULT 'nobody';"});
  {
    auto cat = site_.open(v1);
    Catalog& c = *cat;
    EXPECT_EQ(c.schema_version(), v1.back().version);
    c.create_corpus("old");
  }
  {
    auto cat = site_.open(v2);
    Catalog& c = *cat;
    EXPECT_EQ(c.schema_version(), v2.back().version);
    EXPECT_EQ(c.applied_migrations().back().second, "test_extra");
    Statement s(c.db(), "SELECT test_note FROM corpora WHERE name = 'old'");
    ASSERT_TRUE(s.step());
    EXPECT_EQ(s.text(0), "nobody");  // the data survived the migration
  }
  // An older build refuses a newer database instead of misreading it.
  EXPECT_THROW(site_.open(v1), Unsupported);
}

TEST_P(Catalogs, FailedMigrationRollsBackAndLeavesVersion) {
  std::vector<Migration> ms(builtin_migrations().begin(), builtin_migrations().end());
  const int base = ms.back().version;
  ms.push_back({base + 1, "broken", "CREATE TABLE half (x INT); THIS IS NOT SQL;"});
  EXPECT_THROW(site_.open(ms), IoError);
  auto c = site_.open();
  EXPECT_EQ(c->schema_version(), base);
  EXPECT_FALSE(c->db().has_table("half"));
  EXPECT_TRUE(c->db().has_table("corpora"));
}

TEST_P(Catalogs, CorporaDocumentsVersionsAndJobs) {
  auto cat = site_.open();
  Catalog& c = *cat;
  auto corpus = c.create_corpus("books", "some books", R"({"chunk": 512})");
  EXPECT_THROW(c.create_corpus("books"), InvalidArgument);
  EXPECT_THROW(c.create_corpus("bad", "", "{not json"), InvalidArgument);
  EXPECT_THROW(c.corpus("nope"), NotFound);
  DocumentRow d;
  d.corpus_id = corpus.id;
  d.name = "a.txt";
  d.content_hash = std::string(32, 'a');
  d.bytes = 10;
  d.blob_key = "doc/1/a";
  c.insert_document(d);
  auto v1 = c.bump_corpus_version(corpus.id);
  EXPECT_EQ(v1.version, 1);
  EXPECT_EQ(v1.documents, 1);
  d.name = "b.txt";
  d.content_hash = std::string(32, 'b');
  d.blob_key = "doc/1/b";
  auto b = c.insert_document(d);
  auto v2 = c.bump_corpus_version(corpus.id);
  EXPECT_EQ(v2.version, 2);
  EXPECT_NE(v1.docs_hash, v2.docs_hash);
  c.delete_document(b.id);
  auto v3 = c.bump_corpus_version(corpus.id);
  EXPECT_EQ(v3.version, 3);
  EXPECT_EQ(v3.docs_hash, v1.docs_hash);  // same documents, same hash
  EXPECT_EQ(c.blob_references().size(), 1u);

  auto job = c.create_job("train", corpus.id, R"({"steps": 10})");
  EXPECT_EQ(job.state, JobState::Queued);
  c.start_job(job.id);
  c.set_job_progress(job.id, 0.5, "half way");
  EXPECT_THROW(c.set_job_progress(job.id, 1.5, "x"), InvalidArgument);
  c.finish_job(job.id, JobState::Done);
  auto j = *c.job(job.id);
  EXPECT_EQ(j.state, JobState::Done);
  EXPECT_EQ(j.attempts, 1);
  EXPECT_DOUBLE_EQ(j.progress, 1.0);
  EXPECT_TRUE(j.started_at && j.finished_at);
  EXPECT_THROW(c.finish_job(job.id, JobState::Running), InvalidArgument);  // not an end
}

TEST_P(Catalogs, ACorpusIsFoundByItsIdAndAMissingIdIsNotFoundNamingIt) {
  auto cat = site_.open();
  Catalog& c = *cat;
  const auto books = c.create_corpus("books", "some books");
  c.create_corpus("maps");
  EXPECT_EQ(c.corpus(books.id).name, "books");
  EXPECT_EQ(c.find_corpus(books.id)->description, "some books");
  EXPECT_FALSE(c.find_corpus(books.id + 100).has_value());
  try {
    c.corpus(books.id + 100);
    FAIL();
  } catch (const NotFound& e) {
    EXPECT_NE(std::string(e.what()).find(std::to_string(books.id + 100)), std::string::npos) << e.what();
  }
}

TEST_P(Catalogs, JobStatesAndCartridgeStatusesRoundTripThroughTheirColumnsAsTheirWords) {
  auto cat = site_.open();
  Catalog& c = *cat;
  const auto corpus = c.create_corpus("books");
  auto word_in = [&](const std::string& table, const std::string& column, int64_t id) {
    Statement s(c.db(), "SELECT " + column + " FROM " + table + " WHERE id = ?");
    EXPECT_TRUE(s.bind_all(id).step());
    return s.text(0);
  };
  for (const JobState end : {JobState::Done, JobState::Failed, JobState::Cancelled}) {
    const auto job = c.create_job("train", corpus.id);
    EXPECT_EQ(c.job(job.id)->state, JobState::Queued);
    c.start_job(job.id);
    EXPECT_EQ(c.job(job.id)->state, JobState::Running);
    EXPECT_EQ(word_in("jobs", "state", job.id), "running");
    c.finish_job(job.id, end);
    EXPECT_EQ(c.job(job.id)->state, end);
    EXPECT_EQ(word_in("jobs", "state", job.id), to_string(end));
  }
  CartridgeRow r;
  r.corpus_id = corpus.id;
  r.corpus_version = 1;
  r.model_fingerprint = std::string(32, 'f');
  r.dtype = "f32";
  r.status = RowStatus::Building;
  const auto cart = c.insert_cartridge(r);
  EXPECT_EQ(word_in("cartridges", "status", cart.id), "building");
  const std::pair<RowStatus, std::string> statuses[] = {{RowStatus::Ready, "ready"},
                                                        {RowStatus::Superseded, "superseded"},
                                                        {RowStatus::Damaged, "damaged"},
                                                        {RowStatus::Failed, "failed"},
                                                        {RowStatus::Building, "building"}};
  for (const auto& [status, word] : statuses) {
    c.set_cartridge_status(cart.id, status);
    EXPECT_EQ(c.cartridge(cart.id)->status, status);
    EXPECT_EQ(word_in("cartridges", "status", cart.id), word);
  }
}

TEST(Catalog, AStateWordThisBuildDoesNotKnowIsCorruptDataNamingIt) {
  try {
    job_state_from_string("paused");
    FAIL();
  } catch (const CorruptData& e) {
    EXPECT_NE(std::string(e.what()).find("'paused'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(row_status_from_string("Ready"), CorruptData);  // the words are lower case
  EXPECT_EQ(job_state_from_string("cancelled"), JobState::Cancelled);
  EXPECT_EQ(row_status_from_string("superseded"), RowStatus::Superseded);
}

}  // namespace
}  // namespace cdb
