// The catalog's SQL is written once with SQLite's placeholders (`?`, and
// `?N` where one value is used twice); PostgreSQL wants `$N`. This rewrites
// them outside string literals ('...'), quoted identifiers ("...") and
// comments (-- and /* */), numbering a bare `?` after the highest number
// seen so far, as SQLite does.
#pragma once

#include <string>
#include <string_view>

namespace cdb {

struct RewrittenSql {
  std::string sql;
  int parameters = 0;  // the highest $N
};

RewrittenSql to_dollar_placeholders(std::string_view sql);

}  // namespace cdb
