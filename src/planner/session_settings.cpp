#include "planner/session_settings.h"

#include <array>

#include "common/error.h"
#include "language/options.h"
#include "language/parse_error.h"

namespace cdb {

const char* ask_mode_name(AskMode m) {
  switch (m) {
    case AskMode::Auto: return "auto";
    case AskMode::Cartridge: return "cartridge";
    case AskMode::Icl: return "icl";
  }
  return "?";
}

namespace {

constexpr std::array<std::string_view, 6> kAskKeys = {"max_tokens", "temperature", "top_p", "top_k", "seed", "mode"};

// Applies the options present in `o` to `s`, checking types and ranges.
void apply(const lang::Options& o, AskSettings& s) {
  // Only options present are checked: the session's values already were.
  auto bad = [&](std::string_view key, bool ok, const char* why) {
    if (o.has(key) && !ok) lang::Options::fail(*o.find(key), why);
  };
  s.max_tokens = o.get_int("max_tokens", s.max_tokens);
  bad("max_tokens", s.max_tokens >= 1 && s.max_tokens <= 1000000, "max_tokens must be between 1 and 1000000");
  s.temperature = o.get_double("temperature", s.temperature);
  bad("temperature", s.temperature >= 0 && s.temperature <= 10, "temperature must be between 0 (greedy) and 10");
  s.top_p = o.get_double("top_p", s.top_p);
  bad("top_p", s.top_p > 0 && s.top_p <= 1, "top_p must be in (0, 1]");
  s.top_k = o.get_int("top_k", s.top_k);
  bad("top_k", s.top_k >= 0, "top_k must not be negative (0: off)");
  s.seed = o.get_int("seed", s.seed);
  bad("seed", s.seed >= 0, "seed must not be negative");
  if (const lang::Option* m = o.find("mode")) {
    std::string v = o.get_string("mode", "auto");
    if (v == "auto") s.mode = AskMode::Auto;
    else if (v == "cartridge") s.mode = AskMode::Cartridge;
    else if (v == "icl") s.mode = AskMode::Icl;
    else lang::Options::fail(*m, "mode must be 'auto', 'cartridge' or 'icl', found '" + v + "'");
  }
}

}  // namespace

void SessionSettings::set(const lang::Option& setting) {
  bool known = false;
  for (auto k : kAskKeys) known |= k == setting.key;
  if (!known) {
    std::string allowed;
    for (auto k : kAskKeys) allowed += (allowed.empty() ? "" : ", ") + std::string(k);
    // PostgreSQL's wording and class (42704 over the wire): drivers and
    // users recognise it, and it is not a syntax error.
    throw UndefinedObject("unrecognized configuration parameter \"" + setting.key + "\"; settings are " + allowed);
  }
  lang::Options o;
  o.add(setting);
  std::lock_guard lock(mu_);
  AskSettings next = ask_;
  apply(o, next);
  ask_ = next;
}

AskSettings SessionSettings::ask() const {
  std::lock_guard lock(mu_);
  return ask_;
}

AskSettings SessionSettings::for_ask(const lang::Options& options) const {
  options.reject_unknown({kAskKeys[0], kAskKeys[1], kAskKeys[2], kAskKeys[3], kAskKeys[4], kAskKeys[5]}, "ASK");
  AskSettings s = ask();
  apply(options, s);
  return s;
}

std::vector<std::pair<std::string, std::string>> SessionSettings::list() const {
  const AskSettings ask_ = ask();
  return {{"max_tokens", std::to_string(ask_.max_tokens)}, {"temperature", std::to_string(ask_.temperature)},
          {"top_p", std::to_string(ask_.top_p)},           {"top_k", std::to_string(ask_.top_k)},
          {"seed", std::to_string(ask_.seed)},             {"mode", ask_mode_name(ask_.mode)}};
}

}  // namespace cdb
