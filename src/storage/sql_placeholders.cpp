#include "storage/sql_placeholders.h"

#include <cctype>

namespace cdb {

RewrittenSql to_dollar_placeholders(std::string_view sql) {
  RewrittenSql out;
  out.sql.reserve(sql.size() + 8);
  size_t i = 0;
  auto copy_until = [&](std::string_view end) {
    const size_t j = sql.find(end, i);
    const size_t stop = j == std::string_view::npos ? sql.size() : j + end.size();
    out.sql.append(sql.substr(i, stop - i));
    i = stop;
  };
  while (i < sql.size()) {
    const char c = sql[i];
    if (c == '\'' || c == '"') {
      // A doubled quote inside is an escaped quote: the literal just
      // continues at the next quote, which this loop reaches again.
      out.sql += c;
      ++i;
      copy_until(std::string_view(&c, 1));
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      copy_until("\n");
    } else if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
      copy_until("*/");
    } else if (c == '?') {
      ++i;
      int n = 0;
      size_t digits = 0;
      while (i < sql.size() && std::isdigit(static_cast<unsigned char>(sql[i])) && digits < 4)
        n = n * 10 + (sql[i++] - '0'), ++digits;
      if (digits == 0) n = out.parameters + 1;
      if (n > out.parameters) out.parameters = n;
      out.sql += '$' + std::to_string(n);
    } else {
      out.sql += c;
      ++i;
    }
  }
  return out;
}

}  // namespace cdb
