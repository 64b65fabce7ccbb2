// Hugging Face tokenizer.json with a byte-level BPE model (GPT-2 style:
// Llama 3, Qwen2/2.5/3): added tokens split out first (longest match), then
// the normalizer (NFC or none), the pre-tokenizer regex splits, and BPE over
// each pre-token's bytes.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "engine/tokenizer/pcre2_regex.h"
#include "engine/tokenizer/tokenizer.h"

namespace cdb {

class HfBpeTokenizer final : public Tokenizer {
 public:
  // File contents; the two configs may be empty (absent).
  struct Files {
    std::string tokenizer_json;
    std::string tokenizer_config_json;
    std::string generation_config_json;
  };
  // `source` (the tokenizer.json path) names the file in errors.
  HfBpeTokenizer(const Files& files, const std::filesystem::path& source);

  // Throws InvalidArgument naming the byte offset when `text` is not UTF-8.
  // add_bos adds the configured bos_token when there is one (Qwen has none).
  std::vector<int32_t> encode(std::string_view text, bool add_bos) const override;
  std::string decode(const std::vector<int32_t>& ids) const override;
  std::string token_bytes(int32_t id, int32_t prev_id) const override;
  int32_t vocab_size() const override { return static_cast<int32_t>(id_bytes_.size()); }
  int32_t bos_id() const override { return bos_id_; }
  std::vector<int32_t> eos_ids() const override { return eos_ids_; }
  std::optional<int32_t> token_id(std::string_view piece) const override;
  const std::string& fingerprint() const override { return fingerprint_; }
  std::string kind() const override { return "hf-bpe"; }

 private:
  struct AddedToken {
    std::string content;
    int32_t id;
    bool lstrip, rstrip;
  };

  // The constructor's steps, in order; `where` names the file in errors.
  // 1. The id space: the model's byte-level vocab and the added tokens.
  void read_vocab(const nlohmann::json& model, const nlohmann::json& added, const std::string& where);
  // 2. The merges, "a b" or ["a", "b"], best rank first.
  void read_merges(const nlohmann::json& merges, const std::string& where);
  // 3. The normalizer (none, NFC, or a Sequence of those) and the
  //    pre-tokenizer (Isolated Splits and ByteLevel, or a Sequence of those).
  void read_normalizer(const nlohmann::json& normalizer, const std::string& where);
  void read_pre_tokenizer(const nlohmann::json& pre_tokenizer, const std::string& where);
  // 4. BOS and EOS ids from the configs beside the file, or the usual names.
  void read_special_ids(const Files& files, const std::string& where);

  void encode_text(std::string_view text, std::vector<int32_t>& out) const;   // between added tokens
  void encode_pretoken(std::string_view bytes, std::vector<int32_t>& out) const;

  std::vector<std::string> id_bytes_;  // raw bytes of every id (added tokens: their content)
  std::vector<bool> id_known_;         // false for holes in the id space
  std::unordered_map<std::string_view, int32_t> model_ids_;  // raw bytes -> id; views into id_bytes_
  std::unordered_map<std::string, int32_t> added_ids_;      // content -> id
  std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges_;  // (left << 32 | right) -> (rank, merged)
  std::array<int32_t, 256> byte_ids_{};
  std::vector<AddedToken> added_;
  std::array<std::vector<size_t>, 256> added_by_first_byte_;  // indices into added_, longest first
  std::vector<Pcre2Regex> splits_;
  bool nfc_ = false;
  bool ignore_merges_ = false;
  int32_t bos_id_ = -1;
  std::vector<int32_t> eos_ids_;
  std::string fingerprint_;
};

}  // namespace cdb
