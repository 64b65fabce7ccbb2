#include "storage/sqlite_db.h"

#include <sys/statvfs.h>

#include <cstdio>

#include "common/error.h"

namespace cdb {

SqliteDb::SqliteDb(const std::filesystem::path& file, bool read_only, bool uri) : file_(file) {
  int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (uri) flags |= SQLITE_OPEN_URI;
  // FULLMUTEX: a Catalog may be shared between threads.
  int rc = sqlite3_open_v2(file.c_str(), &db_, flags | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw IoError("cannot open SQLite database " + file.string() + ": " + msg);
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, 10000);
}

SqliteDb::~SqliteDb() { sqlite3_close_v2(db_); }

void SqliteDb::fail(std::string_view what, int rc) const {
  std::string msg = "SQLite error in " + file_.string() + " (" + std::string(what) + "): " + sqlite3_errmsg(db_);
  if ((rc & 0xff) == SQLITE_CONSTRAINT) throw InvalidArgument(msg);
  if ((rc & 0xff) == SQLITE_FULL) {
    // SQLite rolls the statement (or transaction) back: nothing half-written.
    // Its journal needs about a page per changed page; a few MB is ample.
    struct statvfs fs {};
    double free_mb = 0;
    if (::statvfs(file_.parent_path().c_str(), &fs) == 0)
      free_mb = static_cast<double>(fs.f_bavail) * static_cast<double>(fs.f_frsize) / 1e6;
    char buf[96];
    std::snprintf(buf, sizeof buf, "%.1f MB free", free_mb);
    throw IoError("no space left on device: at least 1 MB needed in " + file_.parent_path().string() + " (" + buf +
                  ") for the catalog; the change was rolled back, free space and retry (" + msg + ")");
  }
  throw IoError(msg + " [code " + std::to_string(rc) + "]");
}

void SqliteDb::exec(std::string_view sql) const {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    if ((rc & 0xff) == SQLITE_FULL) fail(sql.substr(0, 200), rc);  // the one disk-full message
    throw IoError("SQLite error in " + file_.string() + ": " + msg + " while running: " +
                  std::string(sql.substr(0, 200)));
  }
}

bool SqliteDb::has_table(std::string_view name) const {
  Statement t(*this, "SELECT count(*) FROM sqlite_master WHERE type IN ('table', 'view') AND name = ?");
  t.bind_all(name).step();
  return t.int64(0) > 0;
}

namespace {

class SqliteCursor : public SqlCursor {
 public:
  SqliteCursor(const SqliteDb& db, std::string_view sql) : db_(db), sql_(sql) {
    int rc = sqlite3_prepare_v2(db.handle(), sql_.c_str(), static_cast<int>(sql_.size()), &stmt_, nullptr);
    if (rc != SQLITE_OK) db.fail("prepare: " + sql_, rc);
  }
  ~SqliteCursor() override { sqlite3_finalize(stmt_); }
  SqliteCursor(const SqliteCursor&) = delete;
  SqliteCursor& operator=(const SqliteCursor&) = delete;

  void bind_int64(int i, int64_t v) override { check(sqlite3_bind_int64(stmt_, i, v)); }
  void bind_double(int i, double v) override { check(sqlite3_bind_double(stmt_, i, v)); }
  void bind_text(int i, std::string_view v) override {
    // A null data pointer would bind SQL NULL; an empty string_view means ''.
    check(sqlite3_bind_text64(stmt_, i, v.data() ? v.data() : "", v.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  }
  void bind_null(int i) override { check(sqlite3_bind_null(stmt_, i)); }

  bool step() override {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    db_.fail(sql_, rc);
  }

  int64_t int64(int col) const override { return sqlite3_column_int64(stmt_, col); }
  double real(int col) const override { return sqlite3_column_double(stmt_, col); }
  bool is_null(int col) const override { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string text(int col) const override {
    auto* p = sqlite3_column_text(stmt_, col);
    int n = sqlite3_column_bytes(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), n) : std::string();
  }

 private:
  void check(int rc) const {
    if (rc != SQLITE_OK) db_.fail("bind: " + sql_, rc);
  }

  const SqliteDb& db_;
  sqlite3_stmt* stmt_ = nullptr;
  std::string sql_;
};

}  // namespace

std::unique_ptr<SqlCursor> SqliteDb::prepare(std::string_view sql) const {
  return std::make_unique<SqliteCursor>(*this, sql);
}

}  // namespace cdb
