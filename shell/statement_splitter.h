// Splits typed or scripted text into statements at the ';' that end them,
// with the language's own rules (quotes, `--` comments), so that a ';'
// inside a string never ends a statement.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace cdb::shell {

struct StatementText {
  std::string text;    // from its first non-blank character to its ';' (kept), or to the end
  std::size_t offset;  // where `text` starts in the split buffer
};

struct Split {
  std::vector<StatementText> statements;  // complete ones, in order; empty ones dropped
  std::string rest;                        // after the last ';': an unfinished statement, or blank
};

// The statements of `buffer` that end with ';', and what follows them.
Split split_statements(std::string_view buffer);

// split_statements, with a non-blank rest taken as a last statement: a
// script's final ';' is optional.
std::vector<StatementText> split_script(std::string_view script);

// True when `text` holds only blanks and `--` comments.
bool is_blank(std::string_view text);

}  // namespace cdb::shell
