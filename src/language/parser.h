// The parser: recursive descent over the lexer's tokens, one function per
// statement form. The grammar is in docs/language.md.
#pragma once

#include <string_view>
#include <vector>

#include "language/ast.h"

namespace cdb::lang {

// Every statement of a script, in order. Statements are separated by ';'; a
// trailing ';', empty statements and `--` comments are allowed, so an empty
// or comment-only script gives no statements. Throws cdb::ParseError at the
// first error, e.g. "syntax error at 1:24: expected USING, found ';'".
// Spans and positions are offsets into `script`.
std::vector<Statement> parse_script(std::string_view script);

// Exactly one statement (a trailing ';' allowed). Throws cdb::ParseError
// when the text holds none or more than one.
Statement parse_statement(std::string_view text);

}  // namespace cdb::lang
