// Settings of one session (SET name = value): defaults for ASK's options.
// An ASK's own WITH (...) overrides them for that question only. Safe to
// share between threads (a handle used from several).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace cdb {

namespace lang {
struct Option;
class Options;
}  // namespace lang

enum class AskMode { Auto, Cartridge, Icl };
const char* ask_mode_name(AskMode m);  // "auto", "cartridge", "icl"

struct AskSettings {
  int64_t max_tokens = 64;
  double temperature = 0.0;  // 0: greedy
  double top_p = 1.0;
  int64_t top_k = 0;
  int64_t seed = 0;
  AskMode mode = AskMode::Auto;
};

class SessionSettings {
 public:
  // SET: ParseError at the name when unknown, at the value when invalid.
  void set(const lang::Option& setting);
  AskSettings ask() const;
  // ASK's WITH (...) over the session's values.
  AskSettings for_ask(const lang::Options& options) const;
  // (name, value) of every setting, for SHOW-like output.
  std::vector<std::pair<std::string, std::string>> list() const;

 private:
  mutable std::mutex mu_;
  AskSettings ask_;
};

}  // namespace cdb
