// Literal values and the `WITH (key = value, ...)` option lists of the
// query language. Options keep their source positions so that the planner,
// which knows what each statement accepts, can reject a bad option with an
// error pointing at it.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "language/token.h"

namespace cdb::lang {

// integer, float (1.5, 2e-2), 'string', TRUE/FALSE.
using Value = std::variant<std::int64_t, double, std::string, bool>;

// The value as a literal of the language: 42, 0.02, 'it''s', true. Floats
// always show a '.' or an exponent, so the literal reads back as a float.
std::string to_string(const Value& value);

// 'text' with each ' doubled: the string literal reading back as `text`.
std::string quote_string(std::string_view text);

// "integer", "float", "string" or "boolean", for error messages.
std::string_view type_name(const Value& value);

struct Option {
  std::string key;  // lower case: keys are case-insensitive
  Value value;
  SourcePos key_pos;
  SourcePos value_pos;

  // Positions are where an option was written, not what it means: two
  // options are equal when key and value are.
  friend bool operator==(const Option& a, const Option& b) {
    return a.key == b.key && a.value == b.value;
  }
};

// An ordered list of options with unique keys.
class Options {
 public:
  Options() = default;

  // Appends; throws cdb::ParseError at the new key when the key is already
  // present (the message gives the first one's position).
  void add(Option option);

  bool empty() const { return items_.empty(); }
  std::size_t size() const { return items_.size(); }
  std::vector<Option>::const_iterator begin() const { return items_.begin(); }
  std::vector<Option>::const_iterator end() const { return items_.end(); }
  const std::vector<Option>& items() const { return items_; }

  // The option with this key (case-insensitive), or nullptr.
  const Option* find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }

  // The value of `key`, or `fallback` when absent. A present value of the
  // wrong type throws cdb::ParseError at the value ("invalid option at
  // 1:40: option 'steps' must be an integer, found string 'x'").
  // get_double accepts an integer (lr = 1 is 1.0); get_int does not accept
  // a float, even 2.0, since that is almost always a mistake.
  std::int64_t get_int(std::string_view key, std::int64_t fallback) const;
  double get_double(std::string_view key, double fallback) const;
  std::string get_string(std::string_view key, std::string fallback) const;
  bool get_bool(std::string_view key, bool fallback) const;

  // Throws cdb::ParseError at the first option whose key is not in
  // `allowed`, naming `context` (e.g. "TRAIN CARTRIDGE") and the allowed keys.
  void reject_unknown(std::initializer_list<std::string_view> allowed, std::string_view context) const;

  // Throws cdb::ParseError ("invalid option at L:C: <detail>") at the value
  // of `option`: for range and choice checks made by the caller.
  [[noreturn]] static void fail(const Option& option, const std::string& detail);

  friend bool operator==(const Options&, const Options&) = default;

 private:
  std::vector<Option> items_;
};

}  // namespace cdb::lang
