#include "engine/tokenizer/llama2c_tokenizer.h"

#include <cstring>

#include "common/error.h"
#include "engine/tokenizer/bpe_merge.h"
#include "engine/tokenizer/fingerprint.h"

namespace cdb {

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// "<0xNN>" -> NN, as llama2.c's sscanf(piece, "<0x%02hhX>") on its own vocab.
std::optional<unsigned char> byte_piece(std::string_view piece) {
  if (piece.size() != 6 || piece.substr(0, 3) != "<0x" || piece[5] != '>') return std::nullopt;
  int hi = hex_digit(piece[3]), lo = hex_digit(piece[4]);
  if (hi < 0 || lo < 0) return std::nullopt;
  return static_cast<unsigned char>(hi * 16 + lo);
}

}  // namespace

Llama2cTokenizer::Llama2cTokenizer(const std::string& bytes, const std::filesystem::path& source) {
  size_t pos = 0;
  auto read = [&](void* dst, size_t n, const char* what) {
    if (bytes.size() - pos < n) {
      throw CorruptData("llama2.c tokenizer " + source.string() + ": truncated " + what + " at byte offset " +
                        std::to_string(pos) + " (file has " + std::to_string(bytes.size()) + " bytes)");
    }
    std::memcpy(dst, bytes.data() + pos, n);
    pos += n;
  };
  int32_t max_token_length = 0;
  read(&max_token_length, 4, "header");
  if (max_token_length <= 0 || max_token_length > (1 << 16)) {
    throw CorruptData("llama2.c tokenizer " + source.string() + ": implausible max_token_length " +
                      std::to_string(max_token_length) + " (not a llama2.c tokenizer.bin?)");
  }
  while (pos < bytes.size()) {
    float score;
    int32_t len;
    read(&score, 4, "token score");
    read(&len, 4, "token length");
    if (len < 0 || len > max_token_length) {
      throw CorruptData("llama2.c tokenizer " + source.string() + ": token " + std::to_string(pieces_.size()) +
                        " has length " + std::to_string(len) + " at byte offset " + std::to_string(pos - 4) +
                        " (max_token_length is " + std::to_string(max_token_length) + ")");
    }
    std::string piece(static_cast<size_t>(len), '\0');
    read(piece.data(), piece.size(), "token bytes");
    pieces_.push_back(std::move(piece));
    scores_.push_back(score);
  }
  if (pieces_.size() < 3) {
    throw CorruptData("llama2.c tokenizer " + source.string() + ": only " + std::to_string(pieces_.size()) +
                      " tokens; BOS (1) and EOS (2) are required");
  }
  // llama2.c binary-searches a sorted copy; with duplicate pieces the lowest
  // id is as good a choice and makes lookups deterministic.
  for (size_t i = 0; i < pieces_.size(); ++i) ids_.emplace(pieces_[i], static_cast<int32_t>(i));
  fingerprint_ = tokenizer_fingerprint({bytes}, kind());
}

std::optional<int32_t> Llama2cTokenizer::lookup(std::string_view piece) const {
  auto it = ids_.find(piece);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

std::optional<int32_t> Llama2cTokenizer::token_id(std::string_view piece) const { return lookup(piece); }

std::vector<int32_t> Llama2cTokenizer::encode(std::string_view text, bool add_bos) const {
  std::vector<int32_t> out;
  if (add_bos) out.push_back(bos_id());
  std::vector<int32_t> ids;
  if (!text.empty()) {
    // SentencePiece's add_dummy_prefix, which llama2.c imitates.
    if (auto space = lookup(" ")) ids.push_back(*space);
  }
  // One symbol per UTF-8 character (at most 4 bytes, as llama2.c groups
  // them); a character not in the vocab falls back to its byte tokens.
  size_t i = 0;
  while (i < text.size()) {
    size_t len = 1;
    while (i + len < text.size() && len < 4 && (static_cast<unsigned char>(text[i + len]) & 0xC0) == 0x80) ++len;
    std::string_view ch = text.substr(i, len);
    if (auto id = lookup(ch)) {
      ids.push_back(*id);
    } else {
      for (unsigned char b : ch) ids.push_back(static_cast<int32_t>(b) + 3);
    }
    i += len;
  }
  std::string joined;
  bpe_merge(ids, [&](int32_t a, int32_t b) -> std::optional<BpeMergeCandidate> {
    joined.assign(pieces_[a]).append(pieces_[b]);
    auto id = lookup(joined);
    if (!id) return std::nullopt;
    return BpeMergeCandidate{scores_[*id], *id};
  });
  out.insert(out.end(), ids.begin(), ids.end());
  return out;
}

std::string Llama2cTokenizer::token_bytes(int32_t id, int32_t prev_id) const {
  if (id < 0 || id >= vocab_size()) {
    throw InvalidArgument("token id " + std::to_string(id) + " is outside the llama2.c vocab of " +
                          std::to_string(vocab_size()));
  }
  // BOS is the sequence separator, never text: llama2.c's generation loop
  // stops on it before printing. EOS, which it does print, keeps its piece.
  if (id == bos_id()) return {};
  std::string_view piece = pieces_[id];
  if (prev_id == bos_id() && !piece.empty() && piece[0] == ' ') piece.remove_prefix(1);
  if (auto b = byte_piece(piece)) return std::string(1, static_cast<char>(*b));
  return std::string(piece);
}

std::string Llama2cTokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string out;
  int32_t prev = -1;
  for (int32_t id : ids) {
    out += token_bytes(id, prev);
    prev = id;
  }
  return out;
}

}  // namespace cdb
