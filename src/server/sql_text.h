// Lexical helpers over statement text that follow docs/language.md: strings
// in '...' (a doubled quote inside), names in "...", comments from -- to
// the end of the line. The server splits a Query message into statements,
// recognises transaction control (which the language has no statements
// for), and substitutes extended-protocol parameters $1..$n.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cdb::server {

struct StatementText {
  size_t offset = 0;  // bytes into the whole query string
  std::string_view text;
};

// The statements of a script, split at ';' outside quotes and comments;
// statements holding only whitespace and comments are left out.
std::vector<StatementText> split_statements(std::string_view script);

// The highest $n in the text outside quotes and comments (0: none).
int count_parameters(std::string_view statement);

// Unknown: a parameter sent without a type (OID 0), as libpq's
// PQexecParams and libpqxx do. Like PostgreSQL, its type comes from
// context: right after '=' (an option or SET value) a number or
// true/false is taken as such, anywhere else it is text.
enum class ParamKind { Unknown, Text, Number, Boolean };

struct Parameter {
  std::optional<std::string> value;  // nullopt: SQL NULL
  ParamKind kind = ParamKind::Unknown;
};

// The longest parameter value, in bytes (a document's limit), and the
// longest text taken as a number; see docs/server.md, Limits.
inline constexpr size_t kMaxParameterBytes = size_t{16} << 20;
inline constexpr size_t kMaxNumberLength = 256;

// Replaces each $n outside quotes and comments by parameter n-1: text as a
// quoted string literal ('it''s'), numbers as they are (checked to be a
// number), booleans as TRUE / FALSE, unknown ones by context (above).
// Throws std::invalid_argument naming the parameter when one is NULL, does
// not fit its kind or is past a limit above (an untyped value too long for
// a number is taken as text). Linear in the text; nothing recurses.
std::string substitute_parameters(std::string_view statement, const std::vector<Parameter>& params);

enum class TransactionVerb { None, Begin, Commit, Rollback };

// BEGIN [WORK|TRANSACTION], START TRANSACTION, COMMIT, END, ROLLBACK, ABORT
// (with anything after them ignored, e.g. isolation levels).
TransactionVerb transaction_verb(std::string_view statement);

// Characters (UTF-8 code points) in the first `bytes` bytes of `text`.
size_t characters_before(std::string_view text, size_t bytes);

}  // namespace cdb::server
