// Tokenizers: text <-> token ids for the three vocab formats a Llama-family
// model ships with (llama2.c's tokenizer.bin, SentencePiece's .model, and
// Hugging Face's byte-level BPE tokenizer.json).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cdb {

// Immutable after load: every const method is safe to call from many threads.
class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Special tokens written in `text` are recognised as such for tokenizer.json
  // (its added tokens, longest match first); llama2.c and SentencePiece
  // encode "<s>" / "</s>" as ordinary text, as their reference code does.
  virtual std::vector<int32_t> encode(std::string_view text, bool add_bos) const = 0;
  // The whole sequence's text, exactly as the format's reference decoder.
  virtual std::string decode(const std::vector<int32_t>& ids) const = 0;
  // Raw bytes of one token following `prev_id` (-1: none). May be a partial
  // UTF-8 sequence. llama2.c: a leading space is dropped after BOS and
  // "<0xNN>" pieces become the byte NN, exactly as llama2.c's decode();
  // BOS (llama2.c) and control tokens (SentencePiece) have no bytes. tokenizer.json
  // added tokens give their content ("<|eot_id|>").
  virtual std::string token_bytes(int32_t id, int32_t prev_id) const = 0;
  virtual int32_t vocab_size() const = 0;
  virtual int32_t bos_id() const = 0;  // -1 if none
  virtual std::vector<int32_t> eos_ids() const = 0;
  // The id of a piece written as in the vocab, e.g. "<|eot_id|>".
  virtual std::optional<int32_t> token_id(std::string_view piece) const = 0;
  // xxh3-128 (hex) of the files that define the tokenizer, plus kind().
  virtual const std::string& fingerprint() const = 0;
  virtual std::string kind() const = 0;  // "llama2c", "sentencepiece", "hf-bpe"
};

// Loads a tokenizer file (*.bin llama2.c vocab, *.model SentencePiece,
// *.json tokenizer.json) or a model directory holding tokenizer.json,
// tokenizer.model or tokenizer.bin (searched in that order). For a
// tokenizer.json, tokenizer_config.json and generation_config.json beside it
// supply BOS and EOS. Throws NotFound / CorruptData / Unsupported naming the
// file.
std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& path);

// llama2.c's safe_printf(): a piece that is a single byte which is neither
// printable nor whitespace (in the C locale) is not printed. An engine that
// prints token_bytes(id, prev) only when this is true reproduces llama2.c's
// `run` output byte for byte.
bool is_printable_piece(std::string_view piece);

}  // namespace cdb
