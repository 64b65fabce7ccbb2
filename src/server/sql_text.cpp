#include "server/sql_text.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace cdb::server {

namespace {

// Calls on_char(i, quoted) for each byte outside comments, `quoted` true
// inside a string or quoted name (quotes included); returns false when a
// quote is left open.
template <class F>
bool scan(std::string_view s, F&& on_char) {
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == '\'' || c == '"') {
      size_t j = i + 1;
      for (;;) {
        j = s.find(c, j);
        if (j == std::string_view::npos) {
          for (; i < s.size(); ++i) on_char(i, true);
          return false;
        }
        if (j + 1 < s.size() && s[j + 1] == c) {
          j += 2;
          continue;
        }
        break;
      }
      for (; i <= j; ++i) on_char(i, true);
    } else if (c == '-' && i + 1 < s.size() && s[i + 1] == '-') {
      const size_t nl = s.find('\n', i);
      i = nl == std::string_view::npos ? s.size() : nl + 1;
    } else {
      on_char(i, false);
      ++i;
    }
  }
  return true;
}

// Only whitespace and comments.
bool blank(std::string_view s) {
  bool any = false;
  scan(s, [&](size_t i, bool quoted) { any = any || quoted || !std::isspace(static_cast<unsigned char>(s[i])); });
  return !any;
}

// $n at i: returns n and the index after its digits, or 0.
std::pair<int, size_t> dollar_param(std::string_view s, size_t i) {
  if (s[i] != '$' || i + 1 >= s.size() || !std::isdigit(static_cast<unsigned char>(s[i + 1]))) return {0, i};
  if (i > 0 && (std::isalnum(static_cast<unsigned char>(s[i - 1])) || s[i - 1] == '_')) return {0, i};
  size_t j = i + 1;
  long n = 0;
  while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) {
    n = std::min(n * 10 + (s[j] - '0'), 100000L);
    ++j;
  }
  return {static_cast<int>(n), j};
}

std::string quote_literal(std::string_view v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

// -?(D+.?D*|.D+)([eE][-+]?D+)? by one pass over the text: a std::regex
// here recursed once per character, and a 60,000-digit parameter overflowed
// the stack of the statement thread.
bool is_number(std::string_view v) {
  auto digit = [&](size_t i) { return i < v.size() && v[i] >= '0' && v[i] <= '9'; };
  size_t i = 0;
  if (i < v.size() && v[i] == '-') ++i;
  size_t digits = 0;
  for (; digit(i); ++i) ++digits;
  if (i < v.size() && v[i] == '.') {
    ++i;
    for (; digit(i); ++i) ++digits;
  }
  if (digits == 0) return false;
  if (i < v.size() && (v[i] == 'e' || v[i] == 'E')) {
    ++i;
    if (i < v.size() && (v[i] == '-' || v[i] == '+')) ++i;
    if (!digit(i)) return false;
    while (digit(i)) ++i;
  }
  return i == v.size();
}

std::optional<bool> as_boolean(const std::string& v) {
  std::string l = v;
  std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return std::tolower(c); });
  if (l == "t" || l == "true" || l == "1" || l == "on" || l == "yes") return true;
  if (l == "f" || l == "false" || l == "0" || l == "off" || l == "no") return false;
  return std::nullopt;
}

// `after_equals`: the $n follows '=' (an option or SET value).
std::string render(const Parameter& p, int n, bool after_equals) {
  const std::string name = "$" + std::to_string(n);
  if (!p.value) throw std::invalid_argument("parameter " + name + " is NULL; the language has no NULL");
  const std::string& v = *p.value;
  if (v.size() > kMaxParameterBytes)
    throw std::invalid_argument("parameter " + name + " has " + std::to_string(v.size()) + " bytes; the limit is " +
                                std::to_string(kMaxParameterBytes) + " (16 MiB, the largest document)");
  // A number longer than this is no value any option takes; refusing it
  // here keeps huge numbers out of the lexer and the planner.
  const bool numeric = v.size() <= kMaxNumberLength && is_number(v);
  switch (p.kind) {
    case ParamKind::Unknown:
      if (after_equals && numeric) return v;
      if (after_equals && (v == "true" || v == "false")) return v == "true" ? "TRUE" : "FALSE";
      return quote_literal(v);
    case ParamKind::Text:
      return quote_literal(v);
    case ParamKind::Number:
      if (v.size() > kMaxNumberLength)
        throw std::invalid_argument("parameter " + name + " is a number of " + std::to_string(v.size()) +
                                    " characters; the limit is " + std::to_string(kMaxNumberLength));
      if (!numeric) throw std::invalid_argument("parameter " + name + " is not a number: " + v.substr(0, 100));
      return v;
    case ParamKind::Boolean: {
      const auto b = as_boolean(v);
      if (!b) throw std::invalid_argument("parameter " + name + " is not a boolean: " + v);
      return *b ? "TRUE" : "FALSE";
    }
  }
  return v;
}

}  // namespace

std::vector<StatementText> split_statements(std::string_view script) {
  std::vector<size_t> semicolons;
  scan(script, [&](size_t i, bool quoted) {
    if (!quoted && script[i] == ';') semicolons.push_back(i);
  });
  std::vector<StatementText> out;
  size_t begin = 0;
  auto add = [&](size_t end) {
    std::string_view t = script.substr(begin, end - begin);
    const size_t lead = t.find_first_not_of(" \t\r\n");
    if (lead != std::string_view::npos && !blank(t)) out.push_back({begin + lead, t.substr(lead)});
  };
  for (size_t semi : semicolons) {
    add(semi);
    begin = semi + 1;
  }
  add(script.size());
  return out;
}

int count_parameters(std::string_view statement) {
  int most = 0;
  scan(statement, [&](size_t i, bool quoted) {
    if (!quoted) most = std::max(most, dollar_param(statement, i).first);
  });
  return most;
}

std::string substitute_parameters(std::string_view statement, const std::vector<Parameter>& params) {
  std::string out;
  size_t copied = 0, skip_until = 0;
  scan(statement, [&](size_t i, bool quoted) {
    if (quoted || i < skip_until) return;
    auto [n, after] = dollar_param(statement, i);
    if (n == 0) return;
    if (n > static_cast<int>(params.size()))
      throw std::invalid_argument("statement uses $" + std::to_string(n) + " but only " +
                                  std::to_string(params.size()) + " parameters were bound");
    const size_t before = statement.find_last_not_of(" \t\r\n", i == 0 ? 0 : i - 1);
    const bool after_equals = i > 0 && before != std::string_view::npos && statement[before] == '=';
    out.append(statement.substr(copied, i - copied));
    out += render(params[static_cast<size_t>(n - 1)], n, after_equals);
    copied = skip_until = after;
  });
  out.append(statement.substr(copied));
  return out;
}

TransactionVerb transaction_verb(std::string_view statement) {
  size_t i = 0;
  while (i < statement.size() && std::isalpha(static_cast<unsigned char>(statement[i]))) ++i;
  std::string w(statement.substr(0, i));
  std::transform(w.begin(), w.end(), w.begin(), [](unsigned char c) { return std::toupper(c); });
  if (w == "BEGIN") return TransactionVerb::Begin;
  if (w == "START") {
    std::string rest(statement.substr(i));
    std::transform(rest.begin(), rest.end(), rest.begin(), [](unsigned char c) { return std::toupper(c); });
    const size_t t = rest.find_first_not_of(" \t\r\n");
    if (t != std::string::npos && rest.compare(t, 11, "TRANSACTION") == 0) return TransactionVerb::Begin;
    return TransactionVerb::None;
  }
  if (w == "COMMIT" || w == "END") return TransactionVerb::Commit;
  if (w == "ROLLBACK" || w == "ABORT") return TransactionVerb::Rollback;
  return TransactionVerb::None;
}

size_t characters_before(std::string_view text, size_t bytes) {
  bytes = std::min(bytes, text.size());
  size_t n = 0;
  for (size_t i = 0; i < bytes; ++i)
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++n;
  return n;
}

}  // namespace cdb::server
