// What a statement returns: a small table of strings (what SHOW prints, the
// plan of EXPLAIN, the job id of TRAIN) and, for ASK, the answer's text.
// Strings rather than typed cells: every consumer (shell, example, server)
// prints them, and the SQL pass-through can return anything.
#pragma once

#include <string>
#include <vector>

namespace cdb {

struct QueryResult {
  std::string statement;  // its form, e.g. "SHOW JOBS" (lang::statement_name)
  std::vector<std::string> columns;
  // PostgreSQL type names per column (int8, float8, text, bool,
  // timestamptz, json, ...); empty: every column is text.
  std::vector<std::string> types;
  std::vector<std::vector<std::string>> rows;
  std::string text;       // ASK: the answer; other statements: a one-line summary

  // The cell of `column` in row `row`; NotFound naming the column when absent.
  const std::string& at(size_t row, const std::string& column) const;
};

}  // namespace cdb
