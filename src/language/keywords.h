// The language's keywords, for the parser (case-insensitive matching, the
// few reserved words) and for a shell's tab completion.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cdb::lang {

// Every keyword, upper case, sorted.
std::span<const std::string_view> keywords();

// Keywords that may follow a name (WITH, TO, USING, ...). A bare word equal
// to one of them is never read as a name, so that a missing name is
// reported as missing instead of silently taking the keyword; such a name
// must be double-quoted. Every other keyword is usable as a bare name
// (CREATE CORPUS jobs is fine) since statement positions are unambiguous.
std::span<const std::string_view> reserved_words();

bool is_keyword(std::string_view word);   // case-insensitive
bool is_reserved(std::string_view word);  // case-insensitive

// The keywords starting with `prefix` (case-insensitive), upper case,
// sorted. An empty prefix gives them all.
std::vector<std::string_view> complete_keyword(std::string_view prefix);

// ASCII-only case folding: keywords and unquoted names are ASCII, and the
// result must not depend on the process locale.
std::string ascii_lower(std::string_view text);
bool iequals(std::string_view a, std::string_view b);

}  // namespace cdb::lang
