// Source positions and the tokens the lexer produces.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace cdb::lang {

// A point in the source text. `offset` is a byte offset, for slicing the
// source and placing a caret; line and column are 1-based, and the column
// counts characters (UTF-8 code points), not bytes, so that it matches what
// an editor or terminal shows.
struct SourcePos {
  std::size_t offset = 0;
  std::uint32_t line = 1;
  std::uint32_t column = 1;

  bool operator==(const SourcePos&) const = default;
};

enum class TokenKind {
  End,         // end of input; the lexer keeps returning it
  Word,        // bare identifier or keyword: keywords are not reserved by
               // the lexer, the parser decides from context
  QuotedName,  // "double-quoted" identifier, taken exactly as written
  String,      // 'single-quoted' string
  Integer,
  Float,
  Symbol,      // one ASCII punctuation character: ( ) , = ; and any other
};

struct Token {
  TokenKind kind = TokenKind::End;
  // Word: as written. QuotedName, String: the value with quotes removed and
  // doubled quotes unescaped. Integer, Float, Symbol: the source text.
  std::string text;
  std::int64_t integer = 0;  // Integer only
  double real = 0.0;         // Float only
  SourcePos pos;             // where the token starts
  std::size_t end = 0;       // byte offset just past the token
};

// How an error message names a token: 'word', string '...', "name", 42,
// ';' or "end of input".
std::string describe(const Token& token);

}  // namespace cdb::lang
