// The SELECT pass-through (CatalogReader on SQLite, PgCatalogReader on
// PostgreSQL, each test on both): a SELECT a client wrote reads only the
// allowlisted views, only the rows of visible corpora, and stops at its
// limits or on cancel.
#include "storage/select_pass_through.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>

#include "common/error.h"
#include "storage/catalog.h"
#include "support/catalog_site.h"

namespace cdb {
namespace {

// A catalog with corpora a (id 1) and b (id 2), a document and a job each,
// a job whose corpus is gone, and the settings a data directory records.
class CatalogSelect : public ::testing::TestWithParam<test::CatalogBackend> {
 protected:
  void SetUp() override {
    catalog = site.open();
    for (const char* name : {"a", "b"}) {
      const CorpusRow c = catalog->create_corpus(name);
      DocumentRow d;
      d.corpus_id = c.id;
      d.name = std::string(name) + ".txt";
      d.content_hash = std::string(32, name[0] == 'a' ? '1' : '2');
      d.bytes = 3;
      d.blob_key = std::string("doc/") + name;
      catalog->insert_document(d);
      catalog->bump_corpus_version(c.id);
      catalog->create_job("train", c.id);
    }
    catalog->create_job("train", std::nullopt);
    catalog->db().exec(
        "INSERT INTO settings (key, value) VALUES ('model_path', '/secret/host/model.bin'),"
        " ('tokenizer_path', '/secret/host/tok.bin'), ('model_fingerprint', 'f00d')");
  }

  std::unique_ptr<SelectPassThrough> reader(SelectLimits l = {}) { return open_select_pass_through(*catalog, l); }
  std::vector<std::vector<std::string>> rows(const std::string& sql, const CorpusVisibility& v = {}) {
    return reader()->run(sql, v).rows;
  }

  test::CatalogSite site{GetParam()};
  std::unique_ptr<Catalog> catalog;
};

INSTANTIATE_TEST_SUITE_P(Both, CatalogSelect, test::kCatalogBackends, test::catalog_backend_name);

// A recursive CTE that never ends, as a SELECT's FROM.
constexpr const char* kEndless =
    "SELECT count(*) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c)";

TEST_P(CatalogSelect, ReadsTheCatalogViews) {
  auto r = rows("SELECT c.name, d.name, v.version FROM corpora c JOIN documents d ON d.corpus_id = c.id "
                "JOIN corpus_versions v ON v.corpus_id = c.id ORDER BY c.id");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[1], (std::vector<std::string>{"b", "b.txt", "1"}));
  EXPECT_EQ(rows("SELECT json_extract('{\"x\": 3}', '$.x'), upper('a'), count(*) FROM jobs")[0],
            (std::vector<std::string>{"3", "A", "3"}));
  // Correlated subqueries, IN lists and outer joins read the views too.
  EXPECT_EQ(rows("SELECT c.name, (SELECT count(*) FROM jobs j WHERE j.corpus_id = c.id) FROM corpora c "
                 "WHERE c.id IN (SELECT corpus_id FROM documents) ORDER BY 1")[1],
            (std::vector<std::string>{"b", "1"}));
  EXPECT_EQ(rows("SELECT count(*) FROM corpora c LEFT JOIN pins p ON p.corpus_id = c.id")[0][0], "2");
}

TEST_P(CatalogSelect, RefusesFts3TokenizerWithOneArgument) {
  try {
    rows("SELECT hex(fts3_tokenizer('simple'))");
    FAIL() << "fts3_tokenizer ran";
  } catch (const PermissionDenied& e) {
    EXPECT_NE(std::string(e.what()).find("fts3_tokenizer"), std::string::npos) << e.what();
  }
}

TEST_P(CatalogSelect, RefusesFts3TokenizerWithTwoArgumentsAndTheFts3tokenizeTable) {
  EXPECT_THROW(rows("SELECT fts3_tokenizer('simple', x'4141414141414141')"), PermissionDenied);
  EXPECT_THROW(rows("SELECT token FROM fts3tokenize WHERE input = 'hello world'"), Error);
}

TEST_P(CatalogSelect, RefusesPragmasExtensionsFilesAndInternalTables) {
  for (const char* sql : {"SELECT load_extension('/tmp/x.so')", "SELECT * FROM pragma_table_info('corpora')",
                          "SELECT * FROM main.corpora", "SELECT * FROM sqlite_master",
                          "SELECT * FROM sqlite_temp_master", "SELECT * FROM artifacts",
                          "SELECT * FROM schema_migrations", "SELECT * FROM blob_references",
                          "SELECT zeroblob(10)", "SELECT * FROM json_each('[1]')", "SELECT 1 FROM corpora, pragma_table_info('corpora')", "SELECT changes()", "SELECT cdb_visible(1)"})
    EXPECT_THROW(rows(sql), PermissionDenied) << sql;
  // Columns outside the allowlist do not exist for a SELECT.
  EXPECT_THROW(rows("SELECT blob_key FROM documents"), InvalidArgument);
}

TEST_P(CatalogSelect, SettingsShowNoHostPath) {
  auto r = rows("SELECT key, value FROM settings");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0], (std::vector<std::string>{"model_fingerprint", "f00d"}));
}

// SQLite reports a CTE's name as the view a read happens in; a CTE named
// like one of the views must not pass for it.
TEST_P(CatalogSelect, ACteNamedLikeAViewCannotReadTheBaseTable) {
  EXPECT_THROW(rows("WITH corpora AS (SELECT * FROM main.corpora) SELECT * FROM corpora"), PermissionDenied);
  EXPECT_THROW(rows("SELECT * FROM (SELECT blob_key FROM main.documents) AS documents"), PermissionDenied);
}

TEST_P(CatalogSelect, ShowsOnlyTheRowsOfVisibleCorpora) {
  const CorpusVisibility only_a = [](int64_t id) { return id == 1; };
  EXPECT_EQ(rows("SELECT name FROM corpora", only_a), (std::vector<std::vector<std::string>>{{"a"}}));
  EXPECT_EQ(rows("SELECT name FROM documents", only_a), (std::vector<std::vector<std::string>>{{"a.txt"}}));
  EXPECT_EQ(rows("SELECT count(*) FROM corpus_versions", only_a)[0][0], "1");
  // The job of a dropped corpus is asked about as corpus 0.
  EXPECT_EQ(rows("SELECT count(*) FROM jobs", only_a)[0][0], "1");
  EXPECT_EQ(rows("SELECT count(*) FROM jobs", [](int64_t id) { return id == 0; })[0][0], "1");
  EXPECT_EQ(rows("SELECT count(*) FROM jobs")[0][0], "3");
  // One reader, a different predicate per statement.
  auto one = reader();
  auto& reader = *one;
  EXPECT_EQ(reader.run("SELECT count(*) FROM corpora", only_a).rows[0][0], "1");
  EXPECT_EQ(reader.run("SELECT count(*) FROM corpora", [](int64_t) { return false; }).rows[0][0], "0");
  EXPECT_EQ(reader.run("SELECT count(*) FROM corpora").rows[0][0], "2");
}

TEST_P(CatalogSelect, CancelStopsARecursiveCteThatNeverEnds) {
  auto one = reader();
  auto& reader = *one;
  const auto start = std::chrono::steady_clock::now();
  const std::function<bool()> cancel = [&] { return std::chrono::steady_clock::now() - start > std::chrono::milliseconds(100); };
  EXPECT_THROW(reader.run(kEndless, {}, cancel), Cancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(reader.run("SELECT count(*) FROM corpora").rows[0][0], "2");  // the reader still works
}

TEST_P(CatalogSelect, StopsARecursiveCteAtTheInstructionLimitWhenNothingCancelsIt) {
  SelectLimits l;
  l.max_instructions = 20'000'000;
  try {
    reader(l)->run(kEndless);
    FAIL() << "the endless CTE ended";
  } catch (const LimitExceeded& e) {
    EXPECT_NE(std::string(e.what()).find("20000000"), std::string::npos) << e.what();
  }
}

TEST_P(CatalogSelect, FailsPastTheRowLimitInsteadOfTruncating) {
  const std::string n_rows = "SELECT x FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT ";
  EXPECT_EQ(rows(n_rows + "100000) SELECT x FROM c)").size(), 100000u);
  try {
    rows(n_rows + "100001) SELECT x FROM c)");
    FAIL() << "no limit";
  } catch (const LimitExceeded& e) {
    EXPECT_NE(std::string(e.what()).find("100000 rows"), std::string::npos) << e.what();
  }
}

// '0' replaced by ten '0's, `levels` times: a value of 10^levels bytes
// that no table holds.
std::string zeros(int levels) {
  std::string e = "'0'";
  for (int i = 0; i < levels; ++i) e = "replace(" + e + ", '0', '0000000000')";
  return e;
}

TEST_P(CatalogSelect, FailsPastTheResultSizeLimitInsteadOfTruncating) {
  SelectLimits l;
  l.max_result_bytes = 1 << 20;
  auto one = reader(l);
  auto& reader = *one;
  const std::string sql = "SELECT " + zeros(5) +
                          " FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT ";
  EXPECT_EQ(reader.run(sql + "10) SELECT x FROM c)").rows.size(), 10u);
  EXPECT_THROW(reader.run(sql + "11) SELECT x FROM c)"), LimitExceeded);
}

TEST_P(CatalogSelect, AValuePastTheLengthLimitFailsInsteadOfBeingCut) {
  try {
    rows("SELECT length(" + zeros(8) + ")");
    FAIL() << "no limit";
  } catch (const LimitExceeded& e) {
    EXPECT_NE(std::string(e.what()).find("16 MiB"), std::string::npos) << e.what();
  }
}

// SQLite 3.40 runs printf('%.*c', 900000000, 'x') as 900 million appends
// in one VM instruction (no progress handler call) and returns ''.
TEST_P(CatalogSelect, RefusesPrintfWhoseWidthsRunUninterruptibly) {
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(rows("SELECT printf('%.*c', 900000000, 'x')"), PermissionDenied);
  EXPECT_THROW(rows("SELECT format('%.*c', 900000000, 'x')"), PermissionDenied);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST_P(CatalogSelect, ReadsWhileTheWriterHoldsATransaction) {
  Catalog::Transaction tx(*catalog);
  catalog->create_corpus("c");  // not committed: the reader sees its snapshot
  EXPECT_EQ(rows("SELECT count(*) FROM corpora")[0][0], "2");
}

}  // namespace
}  // namespace cdb
