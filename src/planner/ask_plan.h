// The plan of one question: where each corpus's knowledge comes from, in
// the order the model reads it, and the prompt after it. EXPLAIN ASK shows
// it; ASK runs it.
//
// Canonical order: the corpora of USING are sorted by corpus id (creation
// order), whatever order the question names them in. The Cartridges compose
// in that order (the residency cache key is that ordered id list), then come
// the ICL texts in that order, then the question. So USING a, b and USING
// b, a are the same plan, the same cache entry and the same answer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "planner/session_settings.h"
#include "storage/catalog.h"

namespace cdb {

enum class CorpusSource { Cartridge, Icl };

struct CorpusPlan {
  CorpusRow corpus;
  CorpusSource source = CorpusSource::Cartridge;
  std::optional<CartridgeRow> cartridge;  // source Cartridge
  int64_t latest_version = 0;             // of the corpus now (0: no documents)
  std::string note;                       // why ICL, or that the Cartridge is older than the corpus
  int64_t tokens = 0;                     // Cartridge tokens, or the corpus's tokens in the prompt
  int64_t bytes = 0;                      // Cartridge stored bytes, or the corpus's text bytes
  std::string location;                   // device, host, disk (Cartridge) or prompt (ICL)
  double expected_load_s = 0;
  int64_t position = 0;                   // first position it occupies
  std::string icl_text;                   // ICL: the documents, joined
};

struct AskPlan {
  std::string question;
  AskSettings settings;
  std::vector<CorpusPlan> parts;      // canonical order: Cartridges, then ICL corpora
  std::vector<CartridgeRow> cartridges;  // the Cartridge parts' rows, in composition order
  int64_t prefix_tokens = 0;          // the composed Cartridges
  std::vector<int32_t> prompt;        // tokens after the prefix (ICL texts, question, template)
  int64_t question_position = 0;      // where the question's own tokens start
  int64_t window = 0;                 // the model's context
  int64_t max_tokens = 0;             // settings.max_tokens, clipped to the window
};

}  // namespace cdb
