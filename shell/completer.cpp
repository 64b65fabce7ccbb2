#include "shell/completer.h"

#include <algorithm>

#include "language/keywords.h"

namespace cdb::shell {

namespace {

std::string previous_word(std::string_view before) {
  std::size_t end = before.size();
  while (end > 0 && before[end - 1] == ' ') --end;
  if (end > 0 && before[end - 1] == ',') return ",";
  std::size_t start = end;
  while (start > 0 && before[start - 1] != ' ' && before[start - 1] != '\t' && before[start - 1] != '(') --start;
  return lang::ascii_lower(before.substr(start, end - start));
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && lang::iequals(s.substr(0, prefix.size()), prefix);
}

}  // namespace

const std::vector<std::string>& meta_command_names() {
  static const std::vector<std::string> names = {"\\?", "\\help", "\\i", "\\q", "\\timing", "\\x"};
  return names;
}

std::vector<std::string> complete(std::string_view before, std::string_view word,
                                  const std::vector<std::string>& corpora) {
  std::vector<std::string> out;
  if (!word.empty() && word[0] == '\\') {
    for (const auto& m : meta_command_names())
      if (m.rfind(word, 0) == 0) out.push_back(m);
    return out;
  }
  const std::string prev = previous_word(before);
  const bool corpus_only = prev == "for" || prev == "to" || prev == "into" || prev == "in" || prev == "using" ||
                           prev == "corpus" || prev == ",";
  for (const auto& c : corpora)
    if (starts_with_ci(c, word)) out.push_back(c);
  if (!corpus_only) {
    const bool lower = std::any_of(word.begin(), word.end(), [](char c) { return c >= 'a' && c <= 'z'; }) &&
                       std::none_of(word.begin(), word.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
    for (std::string_view k : lang::complete_keyword(word)) out.push_back(lower ? lang::ascii_lower(k) : std::string(k));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace cdb::shell
