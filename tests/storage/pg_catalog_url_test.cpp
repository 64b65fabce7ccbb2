// The --catalog URL is parsed strictly and never shown with its password;
// the catalog's `?` placeholders become PostgreSQL's $n only outside
// literals and comments; a catalog server that cannot be reached is an
// IoError naming where it was looked for.
#include "storage/pg_catalog_url.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "storage/catalog_location.h"
#include "storage/sql_placeholders.h"

namespace cdb {
namespace {

TEST(CatalogUrl, AFullUrlGivesEachPartAndTheDefaultPortIs5432) {
  const auto u = parse_pg_catalog_url("postgresql://alice:s%40cret@db.example.com:6543/cartridges");
  EXPECT_EQ(u.user, "alice");
  EXPECT_EQ(u.password, "s@cret");
  EXPECT_EQ(u.host, "db.example.com");
  EXPECT_EQ(u.port, 6543);
  EXPECT_EQ(u.dbname, "cartridges");
  EXPECT_EQ(u.redacted(), "postgresql://alice@db.example.com:6543/cartridges");
  const auto v = parse_pg_catalog_url("postgres://[::1]/c");
  EXPECT_EQ(v.host, "::1");
  EXPECT_EQ(v.port, 5432);
  EXPECT_EQ(v.redacted(), "postgresql://[::1]:5432/c");
  EXPECT_TRUE(is_postgresql_url("postgresql://h/d"));
  EXPECT_FALSE(is_postgresql_url("/var/lib/c.sqlite"));
}

TEST(CatalogUrl, MalformedUrlsAreRefusedWithoutEchoingThePassword) {
  for (const char* bad :
       {"postgresql://h", "postgresql://h:0/d", "postgresql://h:65536/d", "postgresql://h:5x/d", "postgresql://h:/d",
        "postgresql://h/d?sslmode=disable", "postgresql://h/d;drop", "postgresql://h/", "postgresql://h o/d",
        "postgresql://u ser@h/d", "postgresql://u:pw%zz@h/d", "postgresql://[::1/d", "mysql://h/d",
        "postgresql://u:hunter2 x@h/d"}) {
    try {
      parse_pg_catalog_url(bad);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const InvalidArgument& e) {
      EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("postgresql://user@host:port/dbname"), std::string::npos) << e.what();
    }
  }
}

TEST(CatalogUrl, AnUnreachableServerIsAnIoErrorNamingItWithoutThePassword) {
  // Port 1 on loopback: nothing listens there.
  try {
    open_catalog_connection("postgresql://alice:hunter2@127.0.0.1:1/cat", false);
    FAIL();
  } catch (const IoError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("postgresql://alice@127.0.0.1:1/cat"), std::string::npos) << m;
    EXPECT_EQ(m.find("hunter2"), std::string::npos) << m;
  }
}

TEST(SqlPlaceholders, QuestionMarksBecomeDollarNumbersOutsideLiteralsAndComments) {
  const auto r = to_dollar_placeholders("SELECT '?', \"a?\" FROM t WHERE a = ? AND b = ? -- c?\n AND d = 'it''s ?' /* ? */");
  EXPECT_EQ(r.sql, "SELECT '?', \"a?\" FROM t WHERE a = $1 AND b = $2 -- c?\n AND d = 'it''s ?' /* ? */");
  EXPECT_EQ(r.parameters, 2);
  const auto n = to_dollar_placeholders("c.id = ?3 AND (c.owner = ?1 OR g IN (?1, ?2)) AND x = ?");
  EXPECT_EQ(n.sql, "c.id = $3 AND (c.owner = $1 OR g IN ($1, $2)) AND x = $4");
  EXPECT_EQ(n.parameters, 4);
}

}  // namespace
}  // namespace cdb
