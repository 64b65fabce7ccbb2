// Evaluation probes: questions about a corpus whose answers the model should
// find likelier once it has seen the corpus (in context or in a Cartridge).
//
// One JSON object per line:
//   {"prompt": "...", "continuation": "..."}                 likelihood probe
//   {"prompt": "...", "choices": ["...", ...], "answer": 1}  multiple choice
// A multiple-choice probe also counts as a likelihood probe whose
// continuation is its correct choice.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace cdb {

struct Probe {
  std::string prompt;
  std::string continuation;          // for choice probes: choices[answer]
  std::vector<std::string> choices;  // empty: not multiple choice
  int answer = -1;                   // index into choices
};

// Parses JSONL text; `what` names the source in errors (InvalidArgument with
// the line number). Blank lines are skipped.
std::vector<Probe> parse_probes(std::string_view jsonl, std::string_view what);

// Reads and parses a JSONL file (NotFound if it cannot be read).
std::vector<Probe> load_probes(const std::filesystem::path& path);

}  // namespace cdb
