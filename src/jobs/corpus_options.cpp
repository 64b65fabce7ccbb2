#include "jobs/corpus_options.h"

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "language/options.h"

namespace cdb {

// Every field but description (a column of the corpus row), by its own
// name; a missing one is left at its default.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(CorpusOptions, cartridge_tokens, auto_train, debounce_ms, keep_versions,
                                                train_steps, train_conversations)

CorpusOptions CorpusOptions::from_statement(const lang::Options& o) {
  o.reject_unknown({"description", "cartridge_tokens", "auto_train", "debounce_ms", "keep_versions", "train_steps",
                    "train_conversations"},
                   "CREATE CORPUS");
  CorpusOptions c;
  c.description = o.get_string("description", "");
  c.cartridge_tokens = o.get_int("cartridge_tokens", c.cartridge_tokens);
  if (c.cartridge_tokens < 2 || c.cartridge_tokens > 65536)
    lang::Options::fail(*o.find("cartridge_tokens"), "cartridge_tokens must be between 2 and 65536 (the sink and at least one trained token)");
  c.auto_train = o.get_bool("auto_train", c.auto_train);
  c.debounce_ms = o.get_int("debounce_ms", c.debounce_ms);
  if (c.debounce_ms < 0) lang::Options::fail(*o.find("debounce_ms"), "debounce_ms must not be negative");
  c.keep_versions = o.get_int("keep_versions", c.keep_versions);
  if (c.keep_versions < 1) lang::Options::fail(*o.find("keep_versions"), "keep_versions must be at least 1");
  c.train_steps = o.get_int("train_steps", c.train_steps);
  if (c.train_steps < 0) lang::Options::fail(*o.find("train_steps"), "train_steps must not be negative (0: the default)");
  c.train_conversations = o.get_int("train_conversations", c.train_conversations);
  if (c.train_conversations < 0)
    lang::Options::fail(*o.find("train_conversations"), "train_conversations must not be negative (0: the default)");
  return c;
}

CorpusOptions CorpusOptions::from_json(std::string_view json, std::string description) {
  CorpusOptions c;
  try {
    c = nlohmann::json::parse(json.empty() ? std::string_view("{}") : json).get<CorpusOptions>();
  } catch (const nlohmann::json::exception& e) {
    throw CorruptData("corpus options " + std::string(json) + " are not valid: " + e.what());
  }
  c.description = std::move(description);
  return c;
}

std::string CorpusOptions::to_json() const { return nlohmann::json(*this).dump(); }

}  // namespace cdb
