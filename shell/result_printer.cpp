#include "shell/result_printer.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace cdb::shell {

namespace {

bool continuation_byte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// At most `limit` characters of one line: newlines would break the table's
// rows, so they show as spaces; a cut never splits a UTF-8 sequence.
std::string table_cell(std::string_view text, std::size_t limit) {
  std::string out;
  std::size_t chars = 0, i = 0;
  for (; i < text.size(); ++i) {
    if (!continuation_byte(text[i]) && chars++ == limit) break;
    out += (text[i] == '\n' || text[i] == '\r' || text[i] == '\t') ? ' ' : text[i];
  }
  if (i < text.size()) out += "...";
  return out;
}

bool numeric(std::string_view s) {
  if (s.empty()) return false;
  std::size_t i = (s[0] == '-') ? 1 : 0;
  bool digit = false;
  for (; i < s.size(); ++i) {
    if (s[i] >= '0' && s[i] <= '9') digit = true;
    else if (s[i] != '.' && s[i] != 'e' && s[i] != 'E' && s[i] != '+' && s[i] != '-') return false;
  }
  return digit;
}

std::string pad(std::string_view s, std::size_t width, bool right) {
  const std::size_t w = display_width(s);
  std::string fill(width > w ? width - w : 0, ' ');
  return right ? fill + std::string(s) : std::string(s) + fill;
}

// The engine's one-line summary ("2 corpora", "created corpus 'farm'") says
// more than a row count; a remote result may have none.
std::string footer(const cartridgedb::Result& r) {
  if (!r.text.empty()) return "(" + r.text + ")\n";
  return "(" + std::to_string(r.rows.size()) + (r.rows.size() == 1 ? " row" : " rows") + ")\n";
}

std::string table(const cartridgedb::Result& r, std::size_t max_cell) {
  const std::size_t n = r.columns.size();
  std::vector<std::vector<std::string>> cells;
  std::vector<std::size_t> width(n);
  std::vector<bool> right(n, true);
  for (std::size_t c = 0; c < n; ++c) width[c] = display_width(r.columns[c]);
  for (const auto& row : r.rows) {
    auto& out = cells.emplace_back();
    for (std::size_t c = 0; c < n; ++c) {
      const std::string& v = c < row.size() ? row[c] : std::string();
      out.push_back(table_cell(v, max_cell));
      width[c] = std::max(width[c], display_width(out.back()));
      if (!v.empty() && !numeric(v)) right[c] = false;
    }
  }
  std::string s;
  for (std::size_t c = 0; c < n; ++c) {
    // Headers are centred, as psql does.
    const std::size_t w = display_width(r.columns[c]), left = (width[c] - w) / 2;
    s += (c ? "| " : " ") + std::string(left, ' ') + r.columns[c] + std::string(width[c] - w - left, ' ') + " ";
  }
  s += "\n";
  for (std::size_t c = 0; c < n; ++c) s += (c ? "+" : "") + std::string(width[c] + 2, '-');
  s += "\n";
  for (const auto& row : cells) {
    for (std::size_t c = 0; c < n; ++c) s += (c ? "| " : " ") + pad(row[c], width[c], right[c]) + " ";
    s += "\n";
  }
  return s + footer(r);
}

std::string expanded(const cartridgedb::Result& r) {
  std::size_t name_width = 0;
  for (const auto& c : r.columns) name_width = std::max(name_width, display_width(c));
  std::string s;
  for (std::size_t i = 0; i < r.rows.size(); ++i) {
    s += "-[ RECORD " + std::to_string(i + 1) + " ]" + std::string(name_width > 10 ? name_width - 10 : 1, '-') + "\n";
    for (std::size_t c = 0; c < r.columns.size(); ++c)
      s += pad(r.columns[c], name_width, false) + " | " + (c < r.rows[i].size() ? r.rows[i][c] : "") + "\n";
  }
  return s + footer(r);
}

std::string csv_field(std::string_view v) {
  if (v.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(v);
  std::string s = "\"";
  for (char c : v) s += c == '"' ? std::string("\"\"") : std::string(1, c);
  return s + "\"";
}

std::string csv(const cartridgedb::Result& r) {
  auto line = [](const std::vector<std::string>& cells) {
    std::string s;
    for (std::size_t c = 0; c < cells.size(); ++c) s += (c ? "," : "") + csv_field(cells[c]);
    return s + "\r\n";
  };
  std::string s = line(r.columns);
  for (const auto& row : r.rows) s += line(row);
  return s;
}

std::string json(const cartridgedb::Result& r) {
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const auto& row : r.rows) {
    nlohmann::ordered_json o = nlohmann::ordered_json::object();
    for (std::size_t c = 0; c < r.columns.size(); ++c) o[r.columns[c]] = c < row.size() ? row[c] : "";
    rows.push_back(std::move(o));
  }
  nlohmann::ordered_json j = {{"statement", r.statement}, {"columns", r.columns}, {"rows", std::move(rows)},
                              {"text", r.text}};
  // Invalid UTF-8 in a document must not abort the whole output.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace

std::optional<Format> parse_format(std::string_view name) {
  if (name == "table") return Format::Table;
  if (name == "csv") return Format::Csv;
  if (name == "json") return Format::Json;
  return std::nullopt;
}

std::size_t display_width(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) { return !continuation_byte(c); }));
}

std::string format_result(const cartridgedb::Result& r, const PrintOptions& o) {
  switch (o.format) {
    case Format::Csv: return csv(r);
    case Format::Json: return json(r);
    case Format::Table: break;
  }
  if (r.statement == "ASK") return r.text + "\n";
  if (r.columns.empty()) return r.text + "\n";
  return o.expanded ? expanded(r) : table(r, o.max_cell);
}

}  // namespace cdb::shell
