// Seed prompts: what starts each synthetic conversation.
//
// Chat models get one of the paper's five kinds of instruction to speaker A
// (structuring, summarization, a closed-book question, a use case, a creative
// request) or a generic one. Base models cannot follow instructions, so their
// conversations start from a sentence opener: the first words of a sentence
// of the chunk (which makes the continuation revisit the corpus's facts) or
// a generic story opener.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cdb {

class SeededRng;

enum class SeedKind { Structuring, Summarization, Question, UseCase, Creative, Generic, Opener };

const char* seed_kind_name(SeedKind k);

struct SeedPrompt {
  SeedKind kind = SeedKind::Generic;
  std::string text;
};

// One of the six chat kinds, uniformly, with a random phrasing of it.
SeedPrompt sample_chat_seed(SeededRng& rng);

// The first 1..max_words words of a random sentence of `chunk_text`, with
// probability `chunk_fraction`; else a training opener from
// generic_openers(). Falls back to a generic opener when the chunk has no
// usable sentence.
SeedPrompt sample_base_opener(std::string_view chunk_text, SeededRng& rng, double chunk_fraction,
                              int max_words);

// Sentence openers of the stories kind used for base-model training.
const std::vector<std::string>& generic_openers();
// Openers that training never uses: held out to measure fidelity to ICL on
// text the Cartridge was not trained on.
const std::vector<std::string>& heldout_openers();

// The sentences of a text (split after . ! ? and newlines, trimmed), each
// starting at a word.
std::vector<std::string> split_sentences(std::string_view text);

}  // namespace cdb
