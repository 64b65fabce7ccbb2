#include "engine/tokenizer/stream_decoder.h"

#include "engine/tokenizer/utf8.h"

namespace cdb {

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer) : tokenizer_(tokenizer) {}

std::string StreamDecoder::push(int32_t id) {
  pending_ += tokenizer_.token_bytes(id, prev_id_);
  prev_id_ = id;
  std::string out;
  size_t pos = 0;
  while (pos < pending_.size()) {
    Utf8Step st = utf8_step(pending_, pos);
    if (st.kind == Utf8Step::Incomplete) break;
    if (st.kind == Utf8Step::Valid) {
      out.append(pending_, pos, st.length);
    } else {
      out.append(kReplacementChar);
    }
    pos += st.length;
  }
  pending_.erase(0, pos);
  return out;
}

std::string StreamDecoder::finish() {
  std::string out = utf8_sanitize(pending_);
  pending_.clear();
  prev_id_ = -1;
  return out;
}

}  // namespace cdb
