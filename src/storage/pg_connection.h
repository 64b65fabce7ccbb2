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
// Reconnection (CatalogRetry, --catalog-retries / --catalog-retry-wait).
// A connection the server dropped (a restart, a failover to a replica
// promoted behind the same address, a pooler in session mode) is made
// again, with bounded retries and backoff, by the next statement that runs
// outside a caller's transaction:
//  - Before sending such a statement, the socket is read without waiting:
//    a server that went away while the connection was idle has left its
//    FATAL message and EOF there, so the statement goes to a new
//    connection and was never sent to the old one.
//  - A statement lost after it was sent is run again once on a new
//    connection only if running it twice cannot change anything: a read
//    (SELECT, SHOW) or BEGIN, SET, LISTEN. A write outside a transaction
//    commits by itself, so its outcome is unknown (the server may have
//    committed it before the connection broke): IoError saying so, and the
//    next statement reconnects.
//  - Inside a caller's transaction (BEGIN ... COMMIT) nothing is re-run:
//    the server rolled the transaction back when the session ended, so the
//    statement fails with an IoError saying so, every further statement of
//    that transaction fails too (it must never run in autocommit on a new
//    connection), ROLLBACK succeeds, and the next BEGIN reconnects. A
//    connection lost during COMMIT leaves the outcome unknown: IoError
//    saying so, never a retry.
// Session state (LISTEN, SET) does not survive a reconnect; CatalogEvents
// watches its own connection and LISTENs again itself. No connection
// attempt is retried at construction: a catalog unreachable at start is
// reported at once.
//
// Not thread-safe (one libpq connection): the Catalog serializes calls.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "storage/catalog_retry.h"
#include "storage/pg_catalog_url.h"
#include "storage/sql_connection.h"

struct pg_conn;
struct pg_result;

namespace cdb {

class PgConnection : public SqlConnection {
 public:
  explicit PgConnection(const PgCatalogUrl& url, CatalogRetry retry = {});
  ~PgConnection() override;
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  SqlDialect dialect() const override { return SqlDialect::PostgreSql; }
  std::string describe() const override { return where_; }
  void exec(std::string_view sql) const override;
  std::unique_ptr<SqlCursor> prepare(std::string_view sql) const override;
  int64_t changes() const override { return changes_; }
  void begin_write() const override { exec("BEGIN"); }
  // Connections made again after one was lost (for tests and logs).
  int64_t reconnects() const { return reconnects_; }
  bool has_table(std::string_view name) const override;
  const char* now_sql() const override;
  const char* claim_rows_sql() const override { return " FOR UPDATE SKIP LOCKED"; }

  const PgCatalogUrl& url() const { return url_; }
  // The libpq connection; null after a loss until the next statement
  // connects again.
  pg_conn* handle() const { return conn_.get(); }

  struct ResultDeleter {
    void operator()(pg_result* r) const;
  };
  using Result = std::unique_ptr<pg_result, ResultDeleter>;
  // Runs `sql` with text parameters (nullptr: NULL); throws on failure;
  // records changes().
  Result run(const std::string& sql, int n, const char* const* values, std::string_view shown_sql) const;
  [[noreturn]] void fail(const pg_result* r, std::string_view sql) const;

  // Whether `r` (the result of a statement, possibly null) failed because
  // the connection is gone rather than because of the statement: libpq
  // says the connection is bad, or the server said so (SQLSTATE class 08,
  // 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now).
  bool connection_lost(const pg_result* r) const;

 private:
  struct ConnDeleter {
    void operator()(pg_conn* c) const;
  };
  using Conn = std::unique_ptr<pg_conn, ConnDeleter>;
  // One connection attempt; on failure null and libpq's message in `error`.
  Conn connect_once(std::string& error) const;
  // Makes the connection again, retry_.retries times at most with backoff;
  // IoError naming the catalog when every attempt failed.
  void reconnect() const;
  // Before a statement: refuses one of a transaction already lost;
  // otherwise, outside a transaction, reconnects if the connection is
  // (found) gone. Returns whether the statement runs outside a transaction.
  // `verb`: the statement's first keyword. Returns false when the
  // statement is answered without sending it (ROLLBACK of a lost
  // transaction); sets `outside`.
  bool before_statement(const std::string& verb, bool& outside) const;
  // After a statement failed with the connection lost: throws, or returns
  // when the statement is to run again (at most once, `retried` false).
  void after_loss(const std::string& verb, std::string_view sql, bool outside, bool retried) const;
  // Records, after a statement, whether the session is inside a transaction.
  void note_transaction_state() const;

  PgCatalogUrl url_;
  std::string where_;
  CatalogRetry retry_;
  mutable Conn conn_;
  mutable int64_t changes_ = 0;
  mutable int64_t reconnects_ = 0;
  // The connection was lost inside a caller's transaction: its remaining
  // statements fail until ROLLBACK (or a new BEGIN).
  mutable bool lost_in_transaction_ = false;
  // The session was inside a transaction after the last statement (kept
  // here: libpq no longer knows once the connection is gone).
  mutable bool in_transaction_ = false;
};

}  // namespace cdb
