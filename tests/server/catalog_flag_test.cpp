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
