// cartridge serve --catalog postgresql://... (and CDB_CATALOG): the corpora
// a client creates land in that PostgreSQL database and are there after a
// restart; a malformed URL is a usage error and an unreachable server a
// clear one naming it, never with its password.
#include <gtest/gtest.h>

#include "server/server_process.h"
#include "support/postgres_server.h"

namespace cdb {
namespace {

using test::run_command;
using test::shell_quote;

std::string serve_command(const std::string& dir, const std::string& catalog_args) {
  return std::string(CDB_BIN_DIR) + "/cartridge serve " + shell_quote(dir) + " --auth trust --listen 127.0.0.1:0 " +
         catalog_args;
}

TEST(CatalogFlag, ServeKeepsItsCorporaInThePostgreSqlCatalogAcrossARestart) {
  const std::string url = test::PostgresServer::shared().create_database();
  const std::vector<std::string> args = {"--auth", "trust", "--catalog", url};
  {
    test::ServerProcess server(args);
    const auto r = server.psql("CREATE CORPUS farm");
    ASSERT_EQ(r.status, 0) << r.output << server.log();
  }
  // What the catalog database itself holds, read with PostgreSQL's own psql.
  const auto rows = run_command("psql -X -At " + shell_quote(url) + " -c 'SELECT name FROM corpora'");
  EXPECT_EQ(rows.output, "farm\n");
  // ServerProcess makes a new data directory each time: the catalog's
  // identity then names blobs this one lacks, and the open is refused.
  try {
    test::ServerProcess again(args);
    FAIL() << "a second data directory was opened against the first one's catalog";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("blobs/data.mdb is"), std::string::npos) << e.what();
  }
}

// The SELECT pass-through on a PostgreSQL catalog (PgCatalogReader),
// through the server: psql's simple queries and \\d (the emulated
// pg_catalog), psycopg's extended protocol (Parse, Bind, Describe), and the
// refusals a SQLite catalog gives.
TEST(CatalogFlag, TheSelectPassThroughReadsThePostgreSqlCatalogThroughTheSameAllowlist) {
  const std::string url = test::PostgresServer::shared().create_database();
  test::ServerProcess server({"--auth", "trust", "--catalog", url});
  for (const char* s : {"CREATE CORPUS farm", "CREATE CORPUS barn", "ADD DOCUMENT 'hay is dry' AS 'hay.txt' TO farm"}) {
    const auto r = server.psql(s);
    ASSERT_EQ(r.status, 0) << s << ": " << r.output << server.log();
  }
  auto r = server.psql_rows("SELECT c.name, count(d.id) FROM corpora c LEFT JOIN documents d ON d.corpus_id = c.id "
                            "GROUP BY c.name ORDER BY c.name");
  ASSERT_EQ(r.status, 0) << r.output << server.log();
  EXPECT_EQ(r.output, "barn|0\nfarm|1\n");
  r = server.psql("\\d corpora");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("created_at"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("blob_key"), std::string::npos) << r.output;
  r = server.psql("SELECT load_extension('/tmp/x.so')");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("load_extension"), std::string::npos) << r.output;
  r = server.psql("SELECT pg_read_file('/etc/passwd')");
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(r.output.find("root:"), std::string::npos) << r.output;
  r = server.psql("SELECT blob_key FROM documents");
  EXPECT_NE(r.status, 0);
  r = server.python("extended.py", R"py(
import sys, psycopg
with psycopg.connect(host="127.0.0.1", port=int(sys.argv[1]), user="tester", dbname="x", autocommit=True) as conn:
    cur = conn.execute("SELECT name, bytes FROM documents WHERE corpus_id = (SELECT id FROM corpora WHERE name = %s)", ("farm",))
    print([d.name for d in cur.description], cur.fetchall())
)py");
  ASSERT_EQ(r.status, 0) << r.output << server.log();
  EXPECT_EQ(r.output, "['name', 'bytes'] [('hay.txt', 10)]\n") << r.output;
  // The role exists (the test cluster's login is a superuser): no warning.
  EXPECT_EQ(server.log().find("warning"), std::string::npos) << server.log();
}

TEST(CatalogFlag, AMalformedUrlIsAUsageErrorAndAnUnreachableServerAClearOneWithoutThePassword) {
  test::TempDir tmp("catalog-flag-errors");
  const std::string dir = (tmp.path() / "data").string();
  const auto bad = run_command(serve_command(dir, "--catalog postgresql://h:99999/d"));
  EXPECT_EQ(bad.status, 2) << bad.output;
  EXPECT_NE(bad.output.find("port '99999'"), std::string::npos) << bad.output;
  const auto env = run_command("CDB_CATALOG=postgresql://h/d?x=1 " + serve_command(dir, ""));
  EXPECT_EQ(env.status, 2) << env.output;
  EXPECT_NE(env.output.find("query strings"), std::string::npos) << env.output;
  const auto down = run_command(serve_command(dir, "--catalog postgresql://cdb:hunter2@127.0.0.1:1/cat"));
  EXPECT_EQ(down.status, 1) << down.output;
  EXPECT_NE(down.output.find("postgresql://cdb@127.0.0.1:1/cat"), std::string::npos) << down.output;
  EXPECT_EQ(down.output.find("hunter2"), std::string::npos) << down.output;
}

}  // namespace
}  // namespace cdb
