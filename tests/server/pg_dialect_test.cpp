// PgSettings, the PostgreSQL-dialect classification and translation
// (pg_dialect.h) and the type encodings (pg_types.h), without a server;
// then through a real server: settings over the wire, and what the
// translated catalog lets a role see.
#include <gtest/gtest.h>

#include "cartridgedb/cartridgedb.h"
#include "server/pg_dialect.h"
#include "server/pg_settings.h"
#include "server/pg_types.h"
#include "server/server_process.h"
#include "server/sqlstate.h"

namespace cdb::test {
namespace {

using server::classify_pg_statement;
using server::PgSettings;
using server::PgStatement;

TEST(PgSettings, KeepsWhatDriversSetAndRefusesWhatItCannotHonour) {
  PgSettings s("alice", false, {{"application_name", "from startup"}, {"client_encoding", "LATIN1"}});
  EXPECT_EQ(s.get("application_name"), "from startup");
  EXPECT_EQ(s.get("client_encoding"), "UTF8");  // a startup value it cannot keep stays the default
  s.set("extra_float_digits", "3");
  s.set("DATESTYLE", "ISO, MDY");
  s.set("statement_timeout", "2s");
  EXPECT_EQ(s.get("extra_float_digits"), "3");
  EXPECT_EQ(s.canonical("datestyle"), "DateStyle");
  EXPECT_EQ(s.statement_timeout().count(), 2000);
  EXPECT_EQ(s.get("is_superuser"), "off");
  EXPECT_EQ(s.get("session_authorization"), "alice");
  EXPECT_THROW(s.set("client_encoding", "LATIN1"), server::SqlError);
  EXPECT_THROW(s.set("server_version", "16"), server::SqlError);
  EXPECT_THROW(s.get("no_such_thing"), ::cartridgedb::UndefinedObject);
  s.reset_all();
  EXPECT_EQ(s.get("extra_float_digits"), "1");
}

TEST(PgDialect, SetShowAndResetOfParametersAreTheSessionsAndTheLanguagesPassThrough) {
  PgSettings s("alice", false);
  auto st = classify_pg_statement("SET extra_float_digits = 3", s);
  EXPECT_EQ(st.kind, PgStatement::Kind::Set);
  EXPECT_EQ(st.value, "3");
  st = classify_pg_statement("show transaction isolation level", s);
  EXPECT_EQ(st.kind, PgStatement::Kind::Show);
  EXPECT_EQ(st.name, "transaction_isolation");
  st = classify_pg_statement("SET TIME ZONE 'Europe/Berlin'", s);
  EXPECT_EQ(st.kind, PgStatement::Kind::Set);
  EXPECT_EQ(st.name, "TimeZone");
  EXPECT_EQ(classify_pg_statement("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED", s).kind,
            PgStatement::Kind::SetNoOp);
  EXPECT_EQ(classify_pg_statement("SET max_tokens = 8", s).kind, PgStatement::Kind::PassThrough);
  EXPECT_EQ(classify_pg_statement("SHOW CORPORA", s).kind, PgStatement::Kind::PassThrough);
  EXPECT_EQ(classify_pg_statement("ASK 'x' USING pets", s).kind, PgStatement::Kind::PassThrough);
  // SQLite's dialect, which the pass-through always took, is left alone.
  EXPECT_EQ(classify_pg_statement("SELECT json_extract(options, '$.x') FROM corpora", s).kind,
            PgStatement::Kind::PassThrough);
}

TEST(PgDialect, PsqlsAndDriversCatalogQueriesBecomeSqliteOverTheCatalogTables) {
  PgSettings s("alice", false);
  auto st = classify_pg_statement(
      "SELECT c.oid, n.nspname, c.relname FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_namespace n ON n.oid = "
      "c.relnamespace WHERE c.relname OPERATOR(pg_catalog.~) '^(corpora)$' COLLATE pg_catalog.default AND "
      "pg_catalog.pg_table_is_visible(c.oid) ORDER BY 2, 3",
      s);
  ASSERT_EQ(st.kind, PgStatement::Kind::Select);
  EXPECT_NE(st.sql.find("regexp('^(corpora)$', \"c\".\"relname\")"), std::string::npos) << st.sql;
  EXPECT_EQ(st.sql.find("pg_catalog."), std::string::npos) << st.sql;
  EXPECT_EQ(st.sql.find("COLLATE"), std::string::npos) << st.sql;

  st = classify_pg_statement("SELECT 'pg_class'::regclass, relkind = ANY (ARRAY['r','p']), current_user", s);
  ASSERT_EQ(st.kind, PgStatement::Kind::Select);
  EXPECT_NE(st.sql.find("(SELECT oid FROM \"pg_class\" WHERE relname = 'pg_class') AS \"regclass\""),
            std::string::npos)
      << st.sql;
  EXPECT_NE(st.sql.find("(\"relkind\" IN ('r', 'p'))"), std::string::npos) << st.sql;
  EXPECT_NE(st.sql.find("'alice' AS \"current_user\""), std::string::npos) << st.sql;

  st = classify_pg_statement("select current_setting('extra_float_digits')", s);
  EXPECT_EQ(st.sql, "SELECT '1' AS \"current_setting\"");
  EXPECT_THROW(classify_pg_statement("select current_setting('nope')", s), ::cartridgedb::UndefinedObject);

  // pgjdbc's getSchemas: the search path's first schema.
  st = classify_pg_statement("SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname = "
                             "(pg_catalog.current_schemas(true))[1]",
                             s);
  EXPECT_NE(st.sql.find("= 'pg_catalog'"), std::string::npos) << st.sql;

  // psql's \d queries of always-empty catalogs: no rows, their columns.
  st = classify_pg_statement(
      "SELECT c.oid::pg_catalog.regclass FROM pg_catalog.pg_class c, pg_catalog.pg_inherits i WHERE c.oid = "
      "i.inhparent AND i.inhrelid = '16384' ORDER BY inhseqno",
      s);
  EXPECT_EQ(st.sql, "SELECT NULL AS \"oid\" WHERE 0");
}

TEST(PgDialect, WhatItDoesNotTranslateFailsAsUnsupportedNamingIt) {
  PgSettings s("alice", false);
  try {
    classify_pg_statement("SELECT * FROM pg_catalog.generate_series(1, 3)", s);
    FAIL() << "no error";
  } catch (const ::cartridgedb::Unsupported& e) {
    EXPECT_NE(std::string(e.what()).find("a function in FROM"), std::string::npos) << e.what();
  }
  EXPECT_THROW(classify_pg_statement("SELECT ARRAY[1,2] FROM pg_class", s), ::cartridgedb::Unsupported);
  // Deep nesting is bounded, not a stack overflow.
  std::string deep = "SELECT ";
  for (int i = 0; i < 300; ++i) deep += "coalesce(";
  deep += "current_user";
  for (int i = 0; i < 300; ++i) deep += ")";
  EXPECT_THROW(classify_pg_statement(deep, s), ::cartridgedb::Unsupported);
  // PostgreSQL allows a SELECT without columns; every field is checked.
  EXPECT_THROW(classify_pg_statement("SELECT FROM pg_class", s), ::cartridgedb::Unsupported);
  EXPECT_THROW(classify_pg_statement("SELECT (current_schemas())[1] FROM pg_class", s), ::cartridgedb::Unsupported);
  std::string casts = "SELECT 1";
  for (int i = 0; i < 3000; ++i) casts += "::int";
  EXPECT_THROW(classify_pg_statement(casts + " FROM pg_index", s), ::cartridgedb::Unsupported);
  EXPECT_THROW(classify_pg_statement(casts + " FROM pg_class", s), ::cartridgedb::Unsupported);
}

TEST(PgTypes, OidsAndBinaryEncodingsArePostgresqls) {
  using namespace server;
  EXPECT_EQ(type_oid("int8"), 20);
  EXPECT_EQ(type_oid("timestamptz"), 1184);
  EXPECT_EQ(type_oid("json"), 114);
  EXPECT_EQ(type_oid("something"), 25);
  EXPECT_EQ(binary_value(20, "258"), std::string("\0\0\0\0\0\0\x01\x02", 8));
  EXPECT_EQ(binary_value(21, "-1"), std::string("\xff\xff", 2));
  EXPECT_EQ(binary_value(16, "1"), std::string("\x01", 1));
  EXPECT_EQ(binary_value(701, "1.5"), std::string("\x3f\xf8\0\0\0\0\0\0", 8));
  // 2000-01-01 00:00:01 UTC is 1,000,000 us after PostgreSQL's epoch.
  EXPECT_EQ(binary_value(1184, "2000-01-01T00:00:01.000Z"), std::string("\0\0\0\0\0\x0f\x42\x40", 8));
  EXPECT_EQ(text_value(1184, "2026-12-03T13:08:07.008Z"), "2026-12-03 13:08:07.008+00");
  EXPECT_EQ(text_value(16, "0"), "f");
  EXPECT_TRUE(is_null(20, ""));
  EXPECT_FALSE(is_null(25, ""));
  EXPECT_FALSE(has_binary(1009));
  EXPECT_THROW(binary_value(20, "12x"), std::invalid_argument);
}

// Over the wire: a user's pg_catalog / PostgreSQL-dialect SELECTs read the
// same allowlisted, row-filtered views as its plain SELECTs.
TEST(PgCatalogOverTheWire, ATranslatedSelectSeesOnlyVisibleRowsAndNothingOutsideTheAllowlist) {
  TempDir users_dir("pgcat-users");
  const std::string users = (users_dir.path() / "users.txt").string();
  for (const char* u : {"alice", "bob"})
    ASSERT_EQ(run_command("echo pw | " + std::string(CDB_BIN_DIR) + "/cartridge serve --users " + shell_quote(users) +
                          " --add-user " + u)
                  .status,
              0);
  ServerProcess server({"--auth", "trust", "--users", users}, "pgcat");
  auto as = [&](const std::string& user, const std::string& sql) {
    return run_command("psql -X -At -v VERBOSITY=verbose " + shell_quote(server.conninfo(user)) + " -c " +
                       shell_quote(sql));
  };
  ASSERT_EQ(as("alice", "CREATE CORPUS secret_a").status, 0);
  // The ~ operator and a :: cast put these on the translated path.
  const std::string q = "SELECT name::text FROM public.corpora WHERE name ~ '^secret'";
  EXPECT_EQ(as("alice", q).output, "secret_a\n");
  EXPECT_EQ(as("bob", q).output, "");
  auto r = as("bob", "SELECT name::text FROM pg_catalog.sqlite_master");
  EXPECT_NE(r.output.find("42501"), std::string::npos) << r.output;
  // A misspelt column is an error, not a string (SQLite's double-quoted
  // string fallback is off: the translation quotes every identifier).
  r = as("bob", "SELECT nosuchcolumn::text FROM pg_catalog.pg_class");
  EXPECT_NE(r.output.find("no such column"), std::string::npos) << r.output;
  r = as("bob", "SELECT count(*) FROM pg_catalog.pg_class WHERE relname IN ('artifacts', 'schema_migrations')");
  EXPECT_EQ(r.output, "0\n");
  // SET / SHOW / current_setting over the wire, and 42704.
  r = run_command("psql -X -At -v VERBOSITY=verbose " + shell_quote(server.conninfo("bob")) +
                  " -c 'SET application_name = matrix' -c 'SHOW application_name' "
                  "-c \"SELECT current_setting('application_name')\" -c 'SHOW no_such_setting'");
  EXPECT_NE(r.output.find("matrix\nmatrix\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("42704"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace cdb::test
