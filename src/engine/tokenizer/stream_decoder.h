// Incremental detokenization for streaming generation: a character that
// spans several tokens (byte tokens, CJK, emoji) is emitted only once
// complete, so each chunk handed to a client is valid UTF-8.
#pragma once

#include <cstdint>
#include <string>

#include "engine/tokenizer/tokenizer.h"

namespace cdb {

class StreamDecoder {
 public:
  // `tokenizer` must outlive the decoder.
  explicit StreamDecoder(const Tokenizer& tokenizer);

  // The text completed by this token: complete UTF-8 only; an incomplete
  // trailing sequence is held back, a sequence that can never become valid
  // is replaced by U+FFFD.
  std::string push(int32_t id);
  // Whatever is held back, its invalid trailing bytes as U+FFFD; resets.
  std::string finish();

 private:
  const Tokenizer& tokenizer_;
  int32_t prev_id_ = -1;
  std::string pending_;
};

}  // namespace cdb
