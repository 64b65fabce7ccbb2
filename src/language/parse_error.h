// The error every query-language failure raises: a syntax error from the
// lexer or parser, or an option of the wrong type found later by the
// planner. It carries the position so that a shell can point at it, and its
// kind as a field, so that a front end maps it without reading the message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.h"
#include "language/token.h"

namespace cdb {

// Which rule a statement broke.
enum class ParseErrorKind {
  Syntax,   // its grammar (lexer, parser)
  Option,   // the type or range of an option's value
  Setting,  // SET of a setting that does not exist
  Sql,      // the catalog's SQL engine rejected a SELECT pass-through
};

// The words what() starts with: "syntax error", "invalid option", ...
std::string_view parse_error_kind_text(ParseErrorKind kind);

class ParseError : public InvalidArgument {
 public:
  // what() reads "<kind text> at <line>:<column>: <detail>", e.g.
  // "syntax error at 1:24: expected USING, found ';'".
  ParseError(lang::SourcePos pos, std::string detail, ParseErrorKind kind = ParseErrorKind::Syntax);

  // Which rule was broken. Not kind(): that one, inherited, says
  // InvalidArgument, the class every front end maps a ParseError from.
  ParseErrorKind cause() const { return cause_; }

  lang::SourcePos position() const { return pos_; }
  std::size_t offset() const { return pos_.offset; }  // byte offset into the script
  std::uint32_t line() const { return pos_.line; }      // 1-based
  std::uint32_t column() const { return pos_.column; }  // 1-based, in characters
  const std::string& detail() const { return detail_; }  // the message after the position

 private:
  lang::SourcePos pos_;
  std::string detail_;
  ParseErrorKind cause_;
};

namespace lang {

// The source line holding byte `offset`, then a line with a caret under
// that position, e.g. for offset 23 of "ASK 'q' USING a WITH (x = 1);":
//   ASK 'q' USING a WITH (x = 1);
//                          ^
// Tabs before the position are copied so the caret lines up in a terminal.
// An offset past the end points just after the last character.
std::string caret_excerpt(std::string_view source, std::size_t offset);

}  // namespace lang
}  // namespace cdb
