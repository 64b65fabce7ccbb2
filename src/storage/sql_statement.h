// Statement: a prepared statement on a SqlConnection, SQLite or
// PostgreSQL, with typed binds and column reads. Every failure is a
// cdb::Error naming the catalog and the SQL (a constraint violation is
// InvalidArgument; anything else IoError).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "storage/sql_connection.h"

namespace cdb {

class Statement {
 public:
  Statement(const SqlConnection& db, std::string_view sql) : cursor_(db.prepare(sql)) {}
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Binds by 1-based position; returns *this to chain.
  Statement& bind(int i, int64_t v) { return cursor_->bind_int64(i, v), *this; }
  Statement& bind(int i, int v) { return bind(i, static_cast<int64_t>(v)); }
  Statement& bind(int i, double v) { return cursor_->bind_double(i, v), *this; }
  Statement& bind(int i, std::string_view v) { return cursor_->bind_text(i, v), *this; }
  Statement& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
  Statement& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
  Statement& bind(int i, std::nullopt_t) { return cursor_->bind_null(i), *this; }
  template <typename T>
  Statement& bind(int i, const std::optional<T>& v) {
    return v ? bind(i, *v) : bind(i, std::nullopt);
  }
  template <typename... Args>
  Statement& bind_all(const Args&... args) {
    int i = 0;
    (bind(++i, args), ...);
    return *this;
  }

  // Steps once: true when a row is available.
  bool step() { return cursor_->step(); }
  // Steps to completion, expecting no row.
  void run() {
    while (step()) {
    }
  }

  int64_t int64(int col) const { return cursor_->int64(col); }
  double real(int col) const { return cursor_->real(col); }
  std::string text(int col) const { return cursor_->text(col); }
  std::optional<std::string> text_or_null(int col) const {
    if (is_null(col)) return std::nullopt;
    return text(col);
  }
  bool is_null(int col) const { return cursor_->is_null(col); }

 private:
  std::unique_ptr<SqlCursor> cursor_;
};

}  // namespace cdb
