// SqliteDb: the SQLite SqlConnection (RAII over sqlite3*), the catalog's
// embedded default. Its handle() stays reachable for what only SQLite has
// (the online backup API, the SELECT pass-through's authorizer).
// Every failure becomes a cdb::IoError naming the database file and the SQL.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "storage/sql_connection.h"
#include "storage/sql_statement.h"

namespace cdb {

class SqliteDb : public SqlConnection {
 public:
  // `uri`: `file` is an SQLite URI (file:/name?vfs=memdb, an in-memory
  // database that connections of this process share by name).
  SqliteDb(const std::filesystem::path& file, bool read_only, bool uri = false);
  ~SqliteDb() override;
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  SqlDialect dialect() const override { return SqlDialect::Sqlite; }
  std::string describe() const override { return file_.string(); }
  void exec(std::string_view sql) const override;
  std::unique_ptr<SqlCursor> prepare(std::string_view sql) const override;
  int64_t changes() const override { return sqlite3_changes(db_); }
  void begin_write() const override { exec("BEGIN IMMEDIATE"); }
  bool has_table(std::string_view name) const override;
  const char* now_sql() const override { return "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"; }
  const char* claim_rows_sql() const override { return ""; }

  int64_t last_insert_id() const { return sqlite3_last_insert_rowid(db_); }
  sqlite3* handle() const { return db_; }
  const std::filesystem::path& file() const { return file_; }
  [[noreturn]] void fail(std::string_view what, int rc) const;

 private:
  std::filesystem::path file_;
  sqlite3* db_ = nullptr;
};

}  // namespace cdb
