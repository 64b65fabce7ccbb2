#include "shell/statement_splitter.h"

#include "language/lexer.h"
#include "language/parse_error.h"

namespace cdb::shell {

namespace {

bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

}  // namespace

bool is_blank(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '-' && i + 1 < text.size() && text[i + 1] == '-') {
      while (i < text.size() && text[i] != '\n') ++i;
    } else if (!space(text[i])) {
      return false;
    }
  }
  return true;
}

Split split_statements(std::string_view buffer) {
  Split out;
  lang::Lexer lexer(buffer);
  std::size_t start = 0;
  while (start < buffer.size()) {
    std::size_t end;
    try {
      lexer.skip_to_terminator();
      end = lexer.here().offset;
    } catch (const ParseError&) {
      // An unterminated quote: everything left is one unfinished statement,
      // which the engine reports (with its position) if it is run as is.
      break;
    }
    if (end >= buffer.size()) break;  // no ';' after `start`
    lexer.next();                     // the ';'
    std::size_t first = start;
    while (first < end && space(buffer[first])) ++first;
    if (!is_blank(buffer.substr(first, end - first)))
      out.statements.push_back({std::string(buffer.substr(first, end + 1 - first)), first});
    start = end + 1;
  }
  out.rest = std::string(buffer.substr(start));
  return out;
}

std::vector<StatementText> split_script(std::string_view script) {
  Split s = split_statements(script);
  if (!is_blank(s.rest)) {
    std::size_t first = script.size() - s.rest.size();
    while (first < script.size() && space(script[first])) ++first;
    s.statements.push_back({std::string(script.substr(first)), first});
  }
  return std::move(s.statements);
}

}  // namespace cdb::shell
