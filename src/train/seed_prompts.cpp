#include "train/seed_prompts.h"

#include <array>
#include <cctype>

#include "train/seeded_rng.h"

namespace cdb {
namespace {

// Phrasings per kind, after the paper's seed prompt families. Each asks
// speaker A to write one message to an assistant that knows the excerpt.
const std::array<std::vector<std::string>, 6>& chat_seeds() {
  static const std::array<std::vector<std::string>, 6> seeds = {{
      {"Write a message asking the assistant to structure the information in the excerpt as JSON. "
       "Name the exact section it should cover, and ask for all names, dates and numbers to be kept exactly.",
       "Write a message asking the assistant to organize one part of the excerpt as YAML, keeping exact names, "
       "dates and numerical values.",
       "Write a message asking the assistant to lay out a specific part of the excerpt in TOML with every "
       "name, date and number as written.",
       "Write a message asking the assistant to convert one part of the excerpt into XML, preserving exact "
       "names, dates and numbers.",
       "Write a message asking the assistant to restate one part of the excerpt as plain text in a structured "
       "list, keeping names, dates and numbers exact."},
      {"Write a message asking the assistant to summarize a specific part of the excerpt. Say which part, "
       "so that the request is unambiguous.",
       "Write a message asking for a short summary of the excerpt that mentions its most important details."},
      {"Write a question about the excerpt that can be answered without seeing it. Include identifying "
       "details (names, titles, dates) so the question is self-contained.",
       "Ask a factual question about a specific detail of the excerpt, naming the people or things involved "
       "so that someone without the excerpt would know what you mean."},
      {"Think of a real-world task someone could accomplish with the information in the excerpt, and write "
       "the message they would send to an assistant to get help with it.",
       "Write a practical question that a user working with this corpus might ask, grounded in the excerpt's "
       "content."},
      {"Write a creative request based on the excerpt: a poem, a short story or a dialogue that uses its "
       "characters, facts or themes.",
       "Ask the assistant for an imaginative piece of writing inspired by the excerpt, naming what it "
       "should draw on."},
      {"Write a message to an assistant about the excerpt: a question, a request or a comment that starts a "
       "useful conversation about its content."},
  }};
  return seeds;
}

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

}  // namespace

const char* seed_kind_name(SeedKind k) {
  switch (k) {
    case SeedKind::Structuring: return "structuring";
    case SeedKind::Summarization: return "summarization";
    case SeedKind::Question: return "question";
    case SeedKind::UseCase: return "use_case";
    case SeedKind::Creative: return "creative";
    case SeedKind::Generic: return "generic";
    case SeedKind::Opener: return "opener";
  }
  return "?";
}

SeedPrompt sample_chat_seed(SeededRng& rng) {
  const auto& seeds = chat_seeds();
  size_t kind = rng.below(seeds.size());
  const auto& phr = seeds[kind];
  return {static_cast<SeedKind>(kind), phr[rng.below(phr.size())]};
}

const std::vector<std::string>& generic_openers() {
  static const std::vector<std::string> v = {
      "Once upon a time,", "One day,", "The next day,", "Then", "After that,", "Later,",
      "In the end,", "The", "She", "He", "They", "When", "At the", "Every day,", "Suddenly,",
      "So", "But", "After a while,"};
  return v;
}

const std::vector<std::string>& heldout_openers() {
  static const std::vector<std::string> v = {
      "Long ago,", "That night,", "In the morning,", "A little later,", "Soon,", "It was",
      "There was", "Far away,"};
  return v;
}

std::vector<std::string> split_sentences(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    size_t b = 0, e = cur.size();
    while (b < e && (is_space(cur[b]) || cur[b] == '"')) ++b;
    while (e > b && is_space(cur[e - 1])) --e;
    if (e > b) out.emplace_back(cur.substr(b, e - b));
    cur.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\n') {
      flush();
      continue;
    }
    cur.push_back(c);
    if (c == '.' || c == '!' || c == '?') {
      // Keep a closing quote with its sentence.
      if (i + 1 < text.size() && text[i + 1] == '"') cur.push_back(text[++i]);
      flush();
    }
  }
  flush();
  return out;
}

SeedPrompt sample_base_opener(std::string_view chunk_text, SeededRng& rng, double chunk_fraction,
                              int max_words) {
  const auto& generic = generic_openers();
  bool from_chunk = rng.uniform() < chunk_fraction;
  if (from_chunk && max_words > 0) {
    // A chunk is a random token window: its first and last sentences may be
    // cut, so only sentences with a full start (all but the first) are used
    // when there is a choice.
    auto sentences = split_sentences(chunk_text);
    if (sentences.size() > 1) sentences.erase(sentences.begin());
    if (!sentences.empty()) {
      const std::string& s = sentences[rng.below(sentences.size())];
      int words = 1 + static_cast<int>(rng.below(static_cast<uint64_t>(max_words)));
      size_t pos = 0;
      for (int w = 0; w < words && pos < s.size(); ++w) {
        while (pos < s.size() && is_space(s[pos])) ++pos;
        while (pos < s.size() && !is_space(s[pos])) ++pos;
      }
      std::string opener = s.substr(0, pos);
      // A whole sentence leaves nothing to continue; drop its last word.
      if (pos >= s.size()) {
        size_t cut = opener.find_last_of(' ');
        opener = cut == std::string::npos ? std::string() : opener.substr(0, cut);
      }
      if (!opener.empty()) return {SeedKind::Opener, opener};
    }
  }
  return {SeedKind::Generic, generic[rng.below(generic.size())]};
}

}  // namespace cdb
