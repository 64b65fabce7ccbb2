// An SQL identifier written so that SQLite and PostgreSQL read exactly
// `name`: double-quoted, each '"' doubled. For names the catalog readers
// build statements from (table and column names of the allowlist and of
// the schema), never for text a client wrote.
#pragma once

#include <string>
#include <string_view>

namespace cdb {

inline std::string quote_sql_identifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace cdb
