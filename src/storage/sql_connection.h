// SqlConnection: one connection to the catalog's SQL engine, SQLite
// (SqliteDb, the embedded default) or PostgreSQL (PgConnection). The
// Catalog and the tables beside it (jobs, settings, identity) write their
// SQL once, for both: `?` placeholders (PostgreSQL's connection rewrites
// them to $n), ON CONFLICT instead of INSERT OR IGNORE/REPLACE, RETURNING
// id instead of a last-insert-id call. What cannot be written once is a
// method here (now_sql, has_table, begin_write).
//
// Not thread-safe: the Catalog serializes calls on its mutex.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "storage/sql_cursor.h"

namespace cdb {

enum class SqlDialect { Sqlite, PostgreSql };

class SqlConnection {
 public:
  virtual ~SqlConnection() = default;

  virtual SqlDialect dialect() const = 0;
  // Where the catalog lives, for messages: a file path, or
  // postgresql://user@host:port/db (never a password).
  virtual std::string describe() const = 0;

  // Runs one or more statements with no parameters and no results.
  virtual void exec(std::string_view sql) const = 0;
  virtual std::unique_ptr<SqlCursor> prepare(std::string_view sql) const = 0;
  // Rows changed by the last INSERT, UPDATE or DELETE.
  virtual int64_t changes() const = 0;

  // Starts a write transaction: SQLite takes the write lock at once
  // (BEGIN IMMEDIATE), so that a transaction never fails half-way on a
  // lock it could not upgrade; PostgreSQL locks rows as it writes them.
  virtual void begin_write() const = 0;
  // Whether a table or view of this name exists in the catalog's schema.
  virtual bool has_table(std::string_view name) const = 0;
  // An SQL expression for the current UTC time as ISO-8601 text with
  // milliseconds, the format of every *_at column.
  virtual const char* now_sql() const = 0;
  // Appended to a SELECT of rows a transaction is about to claim, so that
  // concurrent claimers pass over each other's rows instead of waiting:
  // FOR UPDATE SKIP LOCKED on PostgreSQL; nothing on SQLite, whose one
  // writer at a time (begin_write) already makes the claim exclusive.
  virtual const char* claim_rows_sql() const = 0;
};

}  // namespace cdb
