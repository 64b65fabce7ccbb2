// The lexer: turns a script into tokens on demand. It is pull-based (the
// parser asks for one token at a time) so that a SELECT statement, which is
// passed through verbatim and may use SQL syntax this language does not
// have, can be skipped as raw text instead of being tokenized.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "language/token.h"

namespace cdb::lang {

class Lexer {
 public:
  // `source` must outlive the lexer.
  explicit Lexer(std::string_view source) : src_(source) {}

  // The next token, after whitespace and `--` comments. At the end of the
  // input it returns End, again and again. Throws cdb::ParseError for an
  // unterminated string or quoted name (at its opening quote), a malformed
  // or out-of-range number, or a character that starts no token.
  Token next();

  // Moves over raw text up to, not including, the next ';' that is outside
  // quotes and comments (or to the end of the input), so that next()
  // returns that ';' (or End). Returns the byte offset just past the last
  // character of the skipped text that is neither whitespace nor part of a
  // comment, so a trailing comment is not kept. Throws cdb::ParseError at
  // the opening quote of an unterminated quote.
  std::size_t skip_to_terminator();

  // Where the next token would start looking.
  SourcePos here() const { return SourcePos{pos_, line_, column_}; }
  std::string_view source() const { return src_; }

 private:
  void advance_to(std::size_t offset);
  void skip_trivia();
  Token word();
  Token number();
  Token quoted(char quote);

  std::string_view src_;
  std::size_t pos_ = 0;
  std::uint32_t line_ = 1;
  std::uint32_t column_ = 1;
};

// True when `buffer` holds at least one ';' outside quotes and comments:
// an interactive shell keeps reading lines until this is true. An
// unterminated quote makes it false, since the ';' is then inside it.
bool statement_complete(std::string_view buffer);

}  // namespace cdb::lang
