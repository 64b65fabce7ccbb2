// PgCatalogReader: the SELECT pass-through on a PostgreSQL catalog gives
// what it gives on SQLite, refuses what it refuses there (and what only
// PostgreSQL would have run), copies under a role that can only read the
// allowlisted columns, and fails at its copy limit instead of cutting.
// (tests/storage/catalog_reader_test.cpp runs the shared behaviour on both.)
#include "storage/pg_catalog_reader.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include <chrono>
#include <set>
#include <string>
#include <utility>

#include "common/error.h"
#include "storage/catalog.h"
#include "storage/pg_connection.h"
#include "storage/select_relations.h"
#include "support/catalog_site.h"

namespace cdb {
namespace {

using Rows = std::vector<std::vector<std::string>>;

// The same statements on any catalog: every relation of the allowlist with
// values of each kind (integers, reals with long expansions, NULLs, JSON,
// text with quotes), and fixed timestamps so that two catalogs can match.
void fill_catalog(Catalog& c) {
  const CorpusRow a = c.create_corpus("a", "it's \"quoted\"", R"({"k": [1, 2.5, "x"], "n": null})");
  const CorpusRow b = c.create_corpus("b");
  c.set_corpus_owner(a.id, "alice");
  for (const CorpusRow& corpus : {a, b}) {
    for (int i = 0; i < 2; ++i) {
      DocumentRow d;
      d.corpus_id = corpus.id;
      d.name = corpus.name + "-" + std::to_string(i) + ".txt";
      d.content_hash = std::string(31, 'a') + static_cast<char>('0' + i);
      d.bytes = 1000 + i;
      d.blob_key = "doc/" + d.name;
      c.insert_document(d);
    }
    c.bump_corpus_version(corpus.id);
  }
  CartridgeRow k;
  k.corpus_id = a.id;
  k.corpus_version = 1;
  k.model_fingerprint = "m1";
  k.tokens = 4096;
  k.dtype = "bf16";
  k.metrics = R"({"loss": 0.30000000000000004, "steps": 10})";
  k.tensors = {{"layer0.k", "t/1", "bf16", {2, 3}, 12}, {"layer0.v", "t/2", "bf16", {2, 3}, 14}};
  c.insert_cartridge(k);
  TokenizedRow t;
  t.corpus_id = b.id;
  t.corpus_version = 1;
  t.tokenizer_fingerprint = "tok";
  t.tokens = 77;
  t.blob_key = "tok/b";
  t.bytes = 308;
  c.insert_tokenized(t);
  const JobRow j = c.create_job("train", a.id, R"({"steps": 3})");
  c.start_job(j.id);
  c.set_job_progress(j.id, 0.1, "step 1");
  c.finish_job(j.id, JobState::Failed, "out of memory");
  c.create_job("train", b.id);
  c.create_job("train", std::nullopt);
  c.db().exec("UPDATE jobs SET loss = 0.1 + 0.2, tokens_per_s = 1e300, eta_s = 1e-7 WHERE id = 1");
  c.db().exec("INSERT INTO pins (corpus_id) VALUES (2)");
  c.db().exec("INSERT INTO settings (key, value) VALUES ('model_path', '/host/model'), ('model_fingerprint', 'f00d')");
  const char* at = "'2026-01-02T03:04:05.678Z'";
  for (const char* table :
       {"corpora", "documents", "corpus_versions", "cartridges", "tokenized_corpora", "jobs", "pins"})
    c.db().exec(std::string("UPDATE ") + table + " SET created_at = " + at);
  c.db().exec(std::string("UPDATE settings SET updated_at = ") + at);
  c.db().exec(std::string("UPDATE jobs SET started_at = ") + at + ", finished_at = " + at + " WHERE id = 1");
}

class PgCatalogSelect : public ::testing::Test {
 protected:
  void SetUp() override {
    catalog = site.open();
    fill_catalog(*catalog);
  }
  PgCatalogReader reader(SelectLimits l = {}) const {
    return PgCatalogReader(dynamic_cast<const PgConnection&>(catalog->db()).url(), l);
  }
  // Runs `sql` on the catalog's database as the superuser, as `role` if set.
  std::string superuser_exec(const std::string& sql, const std::string& role = {}) const {
    PgConnection pg(dynamic_cast<const PgConnection&>(catalog->db()).url());
    if (!role.empty()) pg.exec("SET ROLE " + role);
    pg.exec(sql);
    return "ok";
  }

  test::CatalogSite site{test::CatalogBackend::PostgreSql};
  std::unique_ptr<Catalog> catalog;
};

TEST(PgCatalogSelectParity, TheSameSelectGivesTheSameResultOnSqliteAndPostgresql) {
  test::CatalogSite sqlite_site(test::CatalogBackend::Sqlite), pg_site(test::CatalogBackend::PostgreSql);
  auto sqlite = sqlite_site.open();
  auto pg = pg_site.open();
  fill_catalog(*sqlite);
  fill_catalog(*pg);
  auto on_sqlite = open_select_pass_through(*sqlite);
  auto on_pg = open_select_pass_through(*pg);
  std::vector<std::string> queries;
  for (const SelectRelation& r : select_relations()) queries.push_back(std::string("SELECT * FROM ") + r.name);
  for (const char* q : {
           "SELECT typeof(progress), typeof(loss), typeof(corpus_id), typeof(error), progress * 3, loss, tokens_per_s, "
           "eta_s FROM jobs ORDER BY id",
           "SELECT json_extract(options, '$.k[1]'), options ->> '$.n', typeof(options -> '$.k') FROM corpora",
           "SELECT c.name, count(t.name), sum(t.bytes) FROM corpora c LEFT JOIN cartridges ca ON ca.corpus_id = c.id "
           "LEFT JOIN cartridge_tensors t ON t.cartridge_id = ca.id GROUP BY c.name ORDER BY 1",
           "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_class c "
           "JOIN pg_attribute a ON a.attrelid = c.oid WHERE c.relname IN ('jobs', 'settings') ORDER BY 1, 2",
           "SELECT column_name, data_type FROM \"information_schema.columns\" WHERE table_name = 'cartridges' "
           "ORDER BY ordinal_position",
           "SELECT 1 WHERE 0",
       })
    queries.push_back(q);
  for (const std::string& q : queries) {
    const SelectResult s = on_sqlite->run(q), p = on_pg->run(q);
    EXPECT_EQ(p.columns, s.columns) << q;
    EXPECT_EQ(p.types, s.types) << q;
    EXPECT_EQ(p.rows, s.rows) << q;
    EXPECT_EQ(on_pg->describe(q).types, on_sqlite->describe(q).types) << q;
  }
  // Not vacuous: the rows are there.
  EXPECT_EQ(on_pg->run("SELECT count(*) FROM jobs").rows, (Rows{{"3"}}));
  EXPECT_EQ(on_pg->run("SELECT loss, eta_s FROM jobs WHERE id = 1").rows, (Rows{{"0.3", "1.0e-07"}}));
  // A user's view: the same on both.
  const CorpusVisibility only_b = [](int64_t id) { return id == 2; };
  for (const std::string& q : queries) EXPECT_EQ(on_pg->run(q, only_b).rows, on_sqlite->run(q, only_b).rows) << q;
}

TEST_F(PgCatalogSelect, AUserSeesOnlyTheRowsOfCorporaTheyMaySee) {
  PgCatalogReader r = reader();
  const CorpusVisibility only_a = [](int64_t id) { return id == 1; };
  EXPECT_EQ(r.run("SELECT name FROM corpora", only_a).rows, (Rows{{"a"}}));
  EXPECT_EQ(r.run("SELECT count(*) FROM documents", only_a).rows, (Rows{{"2"}}));
  EXPECT_EQ(r.run("SELECT name FROM cartridge_tensors ORDER BY 1", [](int64_t id) { return id == 2; }).rows, Rows{});
  EXPECT_EQ(r.run("SELECT count(*) FROM cartridge_tensors", only_a).rows, (Rows{{"2"}}));
  EXPECT_EQ(r.run("SELECT count(*) FROM tokenized_corpora", only_a).rows, (Rows{{"0"}}));
  // The job without a corpus is asked about as corpus 0, as on SQLite.
  EXPECT_EQ(r.run("SELECT count(*) FROM jobs", only_a).rows, (Rows{{"1"}}));
  EXPECT_EQ(r.run("SELECT count(*) FROM jobs", [](int64_t id) { return id == 0; }).rows, (Rows{{"1"}}));
  EXPECT_EQ(r.run("SELECT count(*) FROM corpora", [](int64_t) { return false; }).rows, (Rows{{"0"}}));
  EXPECT_EQ(r.run("SELECT count(*) FROM corpora").rows, (Rows{{"2"}}));
  // Nothing of the statement before stays in the copy.
  EXPECT_EQ(r.run("SELECT count(*) FROM corpora", only_a).rows, (Rows{{"1"}}));
}

// What SQLite does not know (PostgreSQL's functions) is InvalidArgument,
// what it knows and the allowlist refuses PermissionDenied: either way the
// statement never reaches PostgreSQL.
void expect_refused(PgCatalogReader& r, const std::string& sql) {
  try {
    r.run(sql);
    ADD_FAILURE() << "ran: " << sql;
  } catch (const PermissionDenied&) {
  } catch (const InvalidArgument&) {}
}

TEST_F(PgCatalogSelect, RefusesWhatOnlyPostgresqlWouldHaveRun) {
  PgCatalogReader r = reader();
  for (const char* sql :
       {"SELECT pg_read_file('/etc/passwd')", "SELECT set_config('role', 'cdb', false)",
        "SELECT query_to_xml('SELECT blob_key FROM documents', true, true, '')",
        "SELECT current_setting('data_directory')", "SELECT lo_import('/etc/passwd')", "SELECT * FROM pg_ls_dir('.')",
        "SELECT dblink('host=x', 'SELECT 1')", "SELECT pg_sleep(100)", "COPY corpora TO '/tmp/x'", "SET ROLE cdb",
        // Nested comments: PostgreSQL ends the comment at the last */,
        // SQLite at the first, so the call is code to SQLite, which judges it.
        "SELECT 1 /* /* */ , pg_read_file('/etc/passwd') -- */",
        // E'' strings: what PostgreSQL reads as one string is not SQLite's.
        "SELECT E'\\'' , pg_read_file('/etc/passwd') -- '"})
    expect_refused(r, sql);
  // Hidden the same ways, a function SQLite knows meets the authorizer.
  EXPECT_THROW(r.run("SELECT 1 /* /* */ , load_extension('/tmp/x.so') -- */"), PermissionDenied);
  for (const char* sql : {"PRAGMA table_info(corpora)", "SELECT * FROM artifacts", "SELECT * FROM corpus_grants",
                          "SELECT * FROM main.documents", "SELECT * FROM store_identity"})
    EXPECT_THROW(r.run(sql), PermissionDenied) << sql;
  EXPECT_THROW(r.run("SELECT blob_key FROM documents"), InvalidArgument);
  EXPECT_EQ(r.run("SELECT count(*) FROM corpora").rows, (Rows{{"2"}}));
}

TEST_F(PgCatalogSelect, ATableOverTheCopyLimitFailsNamingTheTableAndTheLimit) {
  SelectLimits l;
  l.max_copy_rows = 3;
  PgCatalogReader r = reader(l);
  EXPECT_EQ(r.run("SELECT count(*) FROM jobs").rows, (Rows{{"3"}}));  // at the cap: fine
  try {
    r.run("SELECT count(*) FROM documents");  // 4 rows
    FAIL() << "copied past the cap";
  } catch (const LimitExceeded& e) {
    EXPECT_NE(std::string(e.what()).find("documents"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("3 rows"), std::string::npos) << e.what();
  }
  // Within the cap once a user sees fewer rows; and the reader still works.
  EXPECT_EQ(r.run("SELECT count(*) FROM documents", [](int64_t id) { return id == 1; }).rows, (Rows{{"2"}}));
}

TEST_F(PgCatalogSelect, TheCopyRunsUnderARoleThatCanOnlyReadTheAllowlistedColumns) {
  PgCatalogReader r = reader();
  ASSERT_TRUE(r.role().has_value());
  const PgConnection& pg = dynamic_cast<const PgConnection&>(catalog->db());
  const std::string role = PgCatalogReader::role_name(pg);
  EXPECT_EQ(*r.role(), "\"" + role + "\"");
  // Its grants are the allowlist (plus the copy's order column), no more.
  std::set<std::pair<std::string, std::string>> expected{{"cartridge_tensors", "rowid"}}, granted;
  for (const SelectRelation& rel : select_relations())
    for (const char* c : rel.columns) expected.emplace(rel.name, c);
  PgConnection::Result g = pg.run(
      "SELECT table_name::text, column_name::text, privilege_type::text FROM information_schema.column_privileges "
      "WHERE grantee = '" +
          role + "'",
      0, nullptr, "grants");
  for (int i = 0; i < PQntuples(g.get()); ++i) {
    EXPECT_STREQ(PQgetvalue(g.get(), i, 2), "SELECT");
    granted.emplace(PQgetvalue(g.get(), i, 0), PQgetvalue(g.get(), i, 1));
  }
  EXPECT_EQ(granted, expected);
  PgConnection::Result t = pg.run(
      "SELECT count(*) FROM information_schema.table_privileges WHERE grantee = '" + role + "'", 0, nullptr, "tables");
  EXPECT_STREQ(PQgetvalue(t.get(), 0, 0), "0");
  // Under it, nothing can be written, nor an internal column read.
  const std::string as = "\"" + role + "\"";
  for (const char* sql : {"INSERT INTO corpora (name) VALUES ('x')", "UPDATE corpora SET name = 'x'",
                          "DELETE FROM jobs", "SELECT blob_key FROM documents", "SELECT * FROM corpus_grants",
                          "SELECT * FROM store_identity", "CREATE TABLE x (y int)"}) {
    try {
      superuser_exec(sql, as);
      ADD_FAILURE() << "ran under the role: " << sql;
    } catch (const IoError& e) {
      EXPECT_NE(std::string(e.what()).find("permission denied"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(superuser_exec("SELECT name FROM corpora", as), "ok");
}

TEST(PgCatalogSelectWithoutCreaterole, TheMigrationSucceedsAndCopiesRunReadOnlyWithoutTheRole) {
  auto& server = test::PostgresServer::shared();
  static int n = 0;
  const std::string login = "nocreaterole_" + std::to_string(++n) + "_" + std::to_string(::getpid());
  server.admin("CREATE ROLE " + login + " LOGIN NOCREATEROLE");
  server.admin("CREATE DATABASE " + login + " OWNER " + login);
  const std::string url = "postgresql://" + login + "@127.0.0.1:" + std::to_string(server.port()) + "/" + login;
  auto catalog = std::make_unique<Catalog>(open_catalog_connection(url, false));
  EXPECT_EQ(catalog->schema_version(), builtin_migrations().back().version);
  catalog->create_corpus("a");
  const auto warning = select_pass_through_warning(*catalog);
  ASSERT_TRUE(warning.has_value());
  EXPECT_NE(warning->find("CREATEROLE"), std::string::npos) << *warning;
  PgCatalogReader r(parse_pg_catalog_url(url));
  EXPECT_FALSE(r.role().has_value());
  EXPECT_EQ(r.run("SELECT name FROM corpora").rows, (Rows{{"a"}}));
}

TEST_F(PgCatalogSelect, ThereIsNoWarningWhereTheRoleExists) {
  EXPECT_FALSE(select_pass_through_warning(*catalog).has_value());
}

TEST_F(PgCatalogSelect, ACancelledStatementStopsAndTheReaderStaysUsable) {
  PgCatalogReader r = reader();
  EXPECT_THROW(r.run("SELECT count(*) FROM corpora", {}, [] { return true; }), Cancelled);
  EXPECT_EQ(r.run("SELECT count(*) FROM corpora").rows, (Rows{{"2"}}));
}

TEST_F(PgCatalogSelect, AStatementAfterALostConnectionReconnects) {
  PgCatalogReader r = reader();
  EXPECT_EQ(r.run("SELECT count(*) FROM corpora").rows, (Rows{{"2"}}));
  superuser_exec(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
      "AND pid <> pg_backend_pid() AND application_name = 'cartridgedb' AND state = 'idle'");
  // The catalog's own connection went too; the reader's next statement
  // fails or reconnects, and the one after it works.
  try {
    r.run("SELECT count(*) FROM corpora");
  } catch (const IoError&) {}
  EXPECT_EQ(r.run("SELECT count(*) FROM corpora").rows, (Rows{{"2"}}));
}

TEST_F(PgCatalogSelect, ACopyPastItsTimeoutFailsWithLimitExceeded) {
  SelectLimits l;
  l.copy_timeout_ms = 300;
  PgCatalogReader r = reader(l);
  // Another session holds a lock that the copy's read of documents waits on.
  PgConnection locker(dynamic_cast<const PgConnection&>(catalog->db()).url());
  locker.exec("BEGIN");
  locker.exec("LOCK TABLE documents IN ACCESS EXCLUSIVE MODE");
  const auto start = std::chrono::steady_clock::now();
  try {
    r.run("SELECT count(*) FROM documents");
    FAIL() << "the copy waited past its timeout";
  } catch (const LimitExceeded& e) {
    EXPECT_NE(std::string(e.what()).find("300 ms"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("documents"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  locker.exec("ROLLBACK");
  EXPECT_EQ(r.run("SELECT count(*) FROM documents").rows, (Rows{{"4"}}));
}

// SQLite's memdb keeps its largest allocation: a big copy must not stay
// charged to the process's SQLite heap (every SELECT's budget) afterwards.
TEST_F(PgCatalogSelect, ABigCopyDoesNotKeepItsMemoryAfterTheStatement) {
  superuser_exec(
      "INSERT INTO documents (corpus_id, name, content_hash, bytes, blob_key) SELECT 1, 'bulk-' || g, "
      "lpad(to_hex(g), 32, '0'), g, 'bulk/' || g FROM generate_series(1, 100000) AS g");
  PgCatalogReader r = reader();
  EXPECT_EQ(r.run("SELECT count(*) FROM corpora").rows, (Rows{{"2"}}));
  const int64_t before = sqlite3_memory_used();
  EXPECT_EQ(r.run("SELECT count(*), sum(bytes) FROM documents").rows, (Rows{{"100004", "5000054002"}}));
  EXPECT_LT(sqlite3_memory_used() - before, 4 << 20);
  EXPECT_EQ(r.run("SELECT count(*) FROM documents", [](int64_t id) { return id == 2; }).rows, (Rows{{"2"}}));
}

TEST_F(PgCatalogSelect, ColumnsAndDescribeNeedNoCopy) {
  PgCatalogReader r = reader();
  EXPECT_EQ(r.columns("SELECT id, name AS n FROM corpora"), (std::vector<std::string>{"id", "n"}));
  EXPECT_EQ(r.describe("SELECT id, created_at, options FROM corpora").types,
            (std::vector<std::string>{"int8", "timestamptz", "json"}));
  EXPECT_THROW(r.columns("SELECT load_extension('x')"), PermissionDenied);
}

}  // namespace
}  // namespace cdb
