#include "language/options.h"

#include <charconv>

#include "language/keywords.h"
#include "language/parse_error.h"

namespace cdb::lang {

namespace {

std::string format_double(double d) {
  // Shortest text that reads back to the same double, so that printing and
  // re-parsing a statement gives an equal statement.
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, d);
  std::string out(buf, r.ptr);
  if (out.find_first_of(".e") == std::string::npos) out += ".0";
  return out;
}

std::string position_text(SourcePos p) {
  return std::to_string(p.line) + ":" + std::to_string(p.column);
}

// Shown in "found ..." parts: long strings are cut, like tokens are.
std::string describe(const Value& v) {
  std::string text = to_string(v);
  if (text.size() > 28) text = text.substr(0, 24) + "...'";
  return std::string(type_name(v)) + " " + text;
}

template <typename T>
const T& typed(const Option& o, std::string_view expected) {
  const T* v = std::get_if<T>(&o.value);
  if (v == nullptr) {
    Options::fail(o, "option '" + o.key + "' must be " + std::string(expected) + ", found " + describe(o.value));
  }
  return *v;
}

}  // namespace

std::string quote_string(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

std::string to_string(const Value& value) {
  if (const auto* i = std::get_if<std::int64_t>(&value)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(&value)) return format_double(*d);
  if (const auto* s = std::get_if<std::string>(&value)) return quote_string(*s);
  return std::get<bool>(value) ? "true" : "false";
}

std::string_view type_name(const Value& value) {
  switch (value.index()) {
    case 0: return "integer";
    case 1: return "float";
    case 2: return "string";
    default: return "boolean";
  }
}

void Options::add(Option option) {
  if (const Option* first = find(option.key)) {
    throw ParseError(option.key_pos, "duplicate option '" + option.key + "' (first given at " +
                                         position_text(first->key_pos) + ")");
  }
  items_.push_back(std::move(option));
}

const Option* Options::find(std::string_view key) const {
  for (const Option& o : items_) {
    if (iequals(o.key, key)) return &o;
  }
  return nullptr;
}

std::int64_t Options::get_int(std::string_view key, std::int64_t fallback) const {
  const Option* o = find(key);
  return o == nullptr ? fallback : typed<std::int64_t>(*o, "an integer");
}

double Options::get_double(std::string_view key, double fallback) const {
  const Option* o = find(key);
  if (o == nullptr) return fallback;
  if (const auto* i = std::get_if<std::int64_t>(&o->value)) return static_cast<double>(*i);
  return typed<double>(*o, "a number");
}

std::string Options::get_string(std::string_view key, std::string fallback) const {
  const Option* o = find(key);
  return o == nullptr ? fallback : typed<std::string>(*o, "a string");
}

bool Options::get_bool(std::string_view key, bool fallback) const {
  const Option* o = find(key);
  return o == nullptr ? fallback : typed<bool>(*o, "true or false");
}

void Options::reject_unknown(std::initializer_list<std::string_view> allowed, std::string_view context) const {
  for (const Option& o : items_) {
    bool known = false;
    for (std::string_view a : allowed) known = known || iequals(a, o.key);
    if (known) continue;
    std::string list;
    for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
    throw ParseError(o.key_pos,
                     "unknown option '" + o.key + "' for " + std::string(context) +
                         (allowed.size() == 0 ? " (it takes no options)" : " (expected one of: " + list + ")"),
                     ParseErrorKind::Option);
  }
}

void Options::fail(const Option& option, const std::string& detail) {
  throw ParseError(option.value_pos, detail, ParseErrorKind::Option);
}

}  // namespace cdb::lang
