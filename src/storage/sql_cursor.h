// SqlCursor: one prepared statement of a SqlConnection's backend, with its
// bound parameters and the row it stands on. Statement (sql_statement.h)
// owns one and is what callers use; a backend implements this.
//
// Parameters are 1-based, as in SQL text. Columns are 0-based. A column is
// read as the type the caller asks for; a backend converts (PostgreSQL
// returns text, SQLite its storage class).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cdb {

class SqlCursor {
 public:
  virtual ~SqlCursor() = default;

  virtual void bind_int64(int i, int64_t v) = 0;
  virtual void bind_double(int i, double v) = 0;
  virtual void bind_text(int i, std::string_view v) = 0;
  virtual void bind_null(int i) = 0;

  // Runs the statement on the first call; true while a row is available.
  virtual bool step() = 0;

  virtual int64_t int64(int col) const = 0;
  virtual double real(int col) const = 0;
  virtual std::string text(int col) const = 0;
  virtual bool is_null(int col) const = 0;
};

}  // namespace cdb
