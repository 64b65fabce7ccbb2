#include "jobs/train_params.h"

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "language/options.h"

namespace cdb {

// Every field by its own name, a missing one left at its default; but for
// auto_queued, stored as "auto" (below).
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(TrainParams, steps, tokens, lr, conversations, batch_size,
                                                conversations_per_chunk, seed,
                                                checkpoint_every, temperature, max_new_tokens)

TrainParams TrainParams::from_statement(const lang::Options& o) {
  o.reject_unknown({"steps", "tokens", "lr", "conversations", "batch_size", "seed", "checkpoint_every", "temperature",
                    "max_new_tokens", "conversations_per_chunk"},
                   "TRAIN CARTRIDGE");
  TrainParams p;
  auto check_int = [&](std::string_view key, int64_t& v, int64_t lo, int64_t hi) {
    if (!o.has(key)) return;
    v = o.get_int(key, v);
    if (v < lo || v > hi)
      lang::Options::fail(*o.find(key), std::string(key) + " must be between " + std::to_string(lo) + " and " +
                                            std::to_string(hi));
  };
  check_int("steps", p.steps, 1, 1000000);
  check_int("tokens", p.tokens, 2, 65536);
  check_int("conversations", p.conversations, 1, 1000000);
  check_int("batch_size", p.batch_size, 1, 4096);
  check_int("conversations_per_chunk", p.conversations_per_chunk, 1, 4096);
  check_int("seed", p.seed, 0, INT64_MAX);
  check_int("checkpoint_every", p.checkpoint_every, 0, 1000000);
  check_int("max_new_tokens", p.max_new_tokens, 1, 65536);
  p.lr = o.get_double("lr", p.lr);
  if (o.has("lr") && !(p.lr > 0 && p.lr < 10)) lang::Options::fail(*o.find("lr"), "lr must be in (0, 10)");
  p.temperature = o.get_double("temperature", p.temperature);
  if (o.has("temperature") && !(p.temperature >= 0 && p.temperature <= 10)) lang::Options::fail(*o.find("temperature"), "temperature must be between 0 and 10");
  return p;
}

TrainParams TrainParams::from_json(std::string_view json) {
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (!j.is_object()) throw CorruptData("training job params are not a JSON object: " + std::string(json));
  TrainParams p;
  try {
    p = j.get<TrainParams>();
    p.auto_queued = j.value("auto", false);
  } catch (const nlohmann::json::exception& e) {
    throw CorruptData("training job params " + std::string(json) + ": " + e.what());
  }
  return p;
}

std::string TrainParams::to_json() const {
  nlohmann::json j = *this;
  j["auto"] = auto_queued;
  return j.dump();
}

}  // namespace cdb
