// The options of TRAIN CARTRIDGE (and of auto_train's jobs), kept as the
// job row's params JSON so that a job resumed after a restart trains with
// exactly the settings it was queued with.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cdb {

namespace lang {
class Options;
}

struct TrainParams {
  int64_t steps = 60;            // optimizer steps
  int64_t tokens = 0;            // Cartridge length p; 0: the corpus's cartridge_tokens
  double lr = 2e-2;
  int64_t conversations = 32;    // synthesized by self-study
  int64_t batch_size = 8;
  int64_t conversations_per_chunk = 4;  // self-study conversations sharing one prefilled chunk
  int64_t seed = 0;
  int64_t checkpoint_every = 10;  // steps
  double temperature = 0.7;      // of the synthesized continuations (diversity)
  int64_t max_new_tokens = 64;   // per synthesized continuation
  bool auto_queued = false;      // queued by auto_train (may be superseded)

  // TRAIN CARTRIDGE's WITH list; ParseError at an unknown key or bad value.
  static TrainParams from_statement(const lang::Options& options);
  static TrainParams from_json(std::string_view json);  // CorruptData if malformed
  std::string to_json() const;
};

}  // namespace cdb
