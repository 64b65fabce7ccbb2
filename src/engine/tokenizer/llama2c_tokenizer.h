// llama2.c's tokenizer.bin: int32 max_token_length, then per token a float32
// merge score, an int32 length and the bytes. Encoding and decoding follow
// llama2.c's run.c exactly (dummy-prefix " ", merges by best score, byte
// fallback to id byte+3, BOS=1, EOS=2).
#pragma once

#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/tokenizer/tokenizer.h"

namespace cdb {

class Llama2cTokenizer final : public Tokenizer {
 public:
  // Parses `bytes` (the file's contents); `source` names the file in errors.
  Llama2cTokenizer(const std::string& bytes, const std::filesystem::path& source);

  std::vector<int32_t> encode(std::string_view text, bool add_bos) const override;
  std::string decode(const std::vector<int32_t>& ids) const override;
  std::string token_bytes(int32_t id, int32_t prev_id) const override;
  int32_t vocab_size() const override { return static_cast<int32_t>(pieces_.size()); }
  int32_t bos_id() const override { return 1; }
  std::vector<int32_t> eos_ids() const override { return {2}; }
  std::optional<int32_t> token_id(std::string_view piece) const override;
  const std::string& fingerprint() const override { return fingerprint_; }
  std::string kind() const override { return "llama2c"; }

 private:
  std::optional<int32_t> lookup(std::string_view piece) const;

  std::vector<std::string> pieces_;
  std::vector<float> scores_;
  std::unordered_map<std::string_view, int32_t> ids_;  // views into pieces_
  std::string fingerprint_;
};

}  // namespace cdb
