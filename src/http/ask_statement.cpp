#include "http/ask_statement.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <string_view>

namespace cdb::http {

namespace {

constexpr std::array<std::string_view, 10> kReserved = {"as", "for", "from", "in", "into",
                                                        "pattern", "to", "using", "wait", "with"};

bool bare_name(const std::string& n) {
  if (n.empty() || !(std::isalpha(static_cast<unsigned char>(n[0])) || n[0] == '_')) return false;
  for (char c : n)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  std::string lower = n;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return std::find(kReserved.begin(), kReserved.end(), lower) == kReserved.end();
}

std::string doubled(const std::string& s, char quote) {
  std::string out(1, quote);
  for (char c : s) {
    out += c;
    if (c == quote) out += quote;
  }
  return out + quote;
}

std::string real(double v) {
  char b[64];
  std::snprintf(b, sizeof b, "%.17g", v);
  std::string s = b;
  // The language reads a number without '.', 'e' or "inf" as an integer.
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";
  return s;
}

std::string body(const CompletionRequest& r) {
  std::string s = "ASK " + doubled(r.question, '\'') + " USING ";
  for (size_t i = 0; i < r.corpora.size(); ++i)
    s += (i ? ", " : "") + (bare_name(r.corpora[i]) ? r.corpora[i] : doubled(r.corpora[i], '"'));
  return s;
}

}  // namespace

std::string ask_statement(const CompletionRequest& r, int choice) {
  std::string opts = "seed = " + std::to_string(r.seed.value_or(0) + choice);
  if (r.max_tokens) opts += ", max_tokens = " + std::to_string(*r.max_tokens);
  if (r.temperature) opts += ", temperature = " + real(*r.temperature);
  if (r.top_p) opts += ", top_p = " + real(*r.top_p);
  return body(r) + " WITH (" + opts + ")";
}

std::string explain_statement(const CompletionRequest& r) {
  // max_tokens too: EXPLAIN rejects what ASK would (it must fit the window).
  return "EXPLAIN " + body(r) + (r.max_tokens ? " WITH (max_tokens = " + std::to_string(*r.max_tokens) + ")" : "");
}

}  // namespace cdb::http
