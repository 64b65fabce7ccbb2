// A SentencePiece .model (Llama 2 and friends), through libsentencepiece.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "engine/tokenizer/sentencepiece_library.h"
#include "engine/tokenizer/tokenizer.h"

namespace cdb {

class SentencePieceTokenizer final : public Tokenizer {
 public:
  // `bytes` is the serialized model; `source` names the file in errors.
  SentencePieceTokenizer(const std::string& bytes, const std::filesystem::path& source);
  ~SentencePieceTokenizer() override;

  std::vector<int32_t> encode(std::string_view text, bool add_bos) const override;
  std::string decode(const std::vector<int32_t>& ids) const override;
  // A piece's text with '▁' as ' '; the leading space of the first piece
  // (prev_id is -1 or BOS) is dropped, as SentencePiece's decoder does.
  std::string token_bytes(int32_t id, int32_t prev_id) const override;
  int32_t vocab_size() const override;
  int32_t bos_id() const override;
  std::vector<int32_t> eos_ids() const override;
  std::optional<int32_t> token_id(std::string_view piece) const override;
  const std::string& fingerprint() const override { return fingerprint_; }
  std::string kind() const override { return "sentencepiece"; }

 private:
  void check_id(int32_t id) const;
  std::string_view piece(int32_t id) const;

  const SentencePieceLibrary& lib_ = SentencePieceLibrary::get();
  struct Free {
    void (*free_model)(void*);
    void operator()(void* model) const { free_model(model); }
  };
  std::unique_ptr<void, Free> model_;
  std::string fingerprint_;
};

}  // namespace cdb
