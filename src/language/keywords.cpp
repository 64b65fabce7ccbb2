#include "language/keywords.h"

#include <algorithm>
#include <array>

namespace cdb::lang {

namespace {

// Sorted, so completion lists come out in order.
constexpr std::array<std::string_view, 44> kKeywords = {
    "ADD", "AS", "ASK", "CACHE", "CANCEL", "CARTRIDGE", "CARTRIDGES", "CORPORA", "CORPUS",
    "CREATE", "DIRECTORY", "DOCUMENT", "DOCUMENTS", "DROP", "EXPLAIN", "FALSE", "FILE", "FOR",
    "FROM", "GRANT", "IN", "INTO", "JOB", "JOBS", "LOAD", "MODEL", "NODES", "ON", "PATTERN", "PIN", "PUBLIC",
    "REMOVE", "REVOKE", "SELECT", "SET", "SHOW", "TO", "TRAIN", "TRUE", "UNPIN", "USAGE", "USING",
    "WAIT", "WITH",
};

constexpr std::array<std::string_view, 10> kReserved = {
    "AS", "FOR", "FROM", "IN", "INTO", "PATTERN", "TO", "USING", "WAIT", "WITH",
};

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool contains(std::span<const std::string_view> list, std::string_view word) {
  return std::any_of(list.begin(), list.end(), [&](std::string_view k) { return iequals(k, word); });
}

}  // namespace

std::span<const std::string_view> keywords() { return kKeywords; }
std::span<const std::string_view> reserved_words() { return kReserved; }

bool is_keyword(std::string_view word) { return contains(kKeywords, word); }
bool is_reserved(std::string_view word) { return contains(kReserved, word); }

std::vector<std::string_view> complete_keyword(std::string_view prefix) {
  std::vector<std::string_view> out;
  for (std::string_view k : kKeywords) {
    if (k.size() >= prefix.size() && iequals(k.substr(0, prefix.size()), prefix)) out.push_back(k);
  }
  return out;
}

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = lower(c);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace cdb::lang
