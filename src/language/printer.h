// The canonical text of a statement: keywords upper case, names lowered or
// quoted, literals in their shortest exact form. Parsing the printed text
// gives back an equal statement, which is what tests and the shell's
// history rely on.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "language/ast.h"

namespace cdb::lang {

// The statement without a trailing ';', e.g.
// "ASK 'why?' USING docs, faq WITH (max_tokens = 64)".
std::string to_string(const Statement& statement);

// Each statement followed by ";\n".
std::string to_string(const std::vector<Statement>& script);

// A corpus name as it must be written to mean exactly `name`: bare when it
// is lower case [a-z_][a-z0-9_]* and not a reserved word, else
// "double-quoted" with each " doubled.
std::string quote_name(std::string_view name);

}  // namespace cdb::lang
