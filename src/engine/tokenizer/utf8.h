// UTF-8 scanning shared by the tokenizers (input validation) and the
// streaming decoder (holding back a character split across tokens).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace cdb {

struct Utf8Step {
  enum Kind { Valid, Incomplete, Invalid } kind;
  // Valid: the character's byte length. Incomplete: the bytes present (all a
  // valid prefix). Invalid: bytes to replace by one U+FFFD (the maximal
  // subpart, as WHATWG and Unicode recommend).
  size_t length;
};

// Classifies the character starting at s[pos] (pos < s.size()).
Utf8Step utf8_step(std::string_view s, size_t pos);

// Offset of the first byte that is not part of valid UTF-8, or npos.
size_t utf8_invalid_offset(std::string_view s);

// `s` with each invalid or truncated sequence replaced by U+FFFD.
std::string utf8_sanitize(std::string_view s);

inline constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD

}  // namespace cdb
