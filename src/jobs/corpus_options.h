// The options of CREATE CORPUS, checked against the statement's source (so a
// bad one is reported at its position) and kept as the corpus row's JSON
// options (so that training and auto_train read them later).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cdb {

namespace lang {
class Options;
}

struct CorpusOptions {
  std::string description;
  int64_t cartridge_tokens = 64;  // p: the Cartridge's length, sink included
  bool auto_train = false;        // queue a training job when the documents change
  int64_t debounce_ms = 2000;     // ... this long after the last change
  int64_t keep_versions = 2;      // ready Cartridges kept per corpus and model
  int64_t train_steps = 0;        // auto_train jobs' steps; 0: TRAIN CARTRIDGE's default
  int64_t train_conversations = 0;  // auto_train jobs' synthesized conversations; 0: default

  // CREATE CORPUS's WITH list. ParseError at an unknown key or a bad value.
  static CorpusOptions from_statement(const lang::Options& options);
  // The corpus row's options JSON (description is a column of its own).
  static CorpusOptions from_json(std::string_view json, std::string description);
  std::string to_json() const;
};

}  // namespace cdb
