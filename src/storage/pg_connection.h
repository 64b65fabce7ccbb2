// PgConnection: the PostgreSQL SqlConnection, through libpq (RAII over
// PGconn and PGresult). Statements run as unnamed extended-protocol
// queries with text parameters, so a value is never spliced into SQL.
//
// Errors: a connection that cannot be made or is lost is IoError naming
// the server as postgresql://user@host:port/db (never the password) and
// saying what to check; it is never reported as corrupt data. A
// constraint violation or a bad value (SQLSTATE classes 23 and 22) is
// InvalidArgument, as on SQLite; anything else IoError with the SQLSTATE.
//
// Not thread-safe (one libpq connection): the Catalog serializes calls.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "storage/pg_catalog_url.h"
#include "storage/sql_connection.h"

struct pg_conn;
struct pg_result;

namespace cdb {

class PgConnection : public SqlConnection {
 public:
  explicit PgConnection(const PgCatalogUrl& url);
  ~PgConnection() override;
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  SqlDialect dialect() const override { return SqlDialect::PostgreSql; }
  std::string describe() const override { return where_; }
  void exec(std::string_view sql) const override;
  std::unique_ptr<SqlCursor> prepare(std::string_view sql) const override;
  int64_t changes() const override { return changes_; }
  void begin_write() const override { exec("BEGIN"); }
  bool has_table(std::string_view name) const override;
  const char* now_sql() const override;
  const char* claim_rows_sql() const override { return " FOR UPDATE SKIP LOCKED"; }

  const PgCatalogUrl& url() const { return url_; }
  pg_conn* handle() const { return conn_.get(); }

  struct ResultDeleter {
    void operator()(pg_result* r) const;
  };
  using Result = std::unique_ptr<pg_result, ResultDeleter>;
  // Runs `sql` with text parameters (nullptr: NULL); throws on failure;
  // records changes().
  Result run(const std::string& sql, int n, const char* const* values, std::string_view shown_sql) const;
  [[noreturn]] void fail(const pg_result* r, std::string_view sql) const;

 private:
  struct ConnDeleter {
    void operator()(pg_conn* c) const;
  };
  PgCatalogUrl url_;
  std::string where_;
  std::unique_ptr<pg_conn, ConnDeleter> conn_;
  mutable int64_t changes_ = 0;
};

}  // namespace cdb
