#include "engine/tokenizer/sentencepiece_tokenizer.h"

#include <sentencepiece_processor.h>

#include "common/error.h"
#include "engine/tokenizer/fingerprint.h"

namespace cdb {

namespace {

constexpr std::string_view kSpaceSymbol = "\xE2\x96\x81";  // U+2581 '▁'

}  // namespace

SentencePieceTokenizer::SentencePieceTokenizer(const std::string& bytes, const std::filesystem::path& source)
    : sp_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {
  auto status = sp_->LoadFromSerializedProto(bytes);
  if (!status.ok()) {
    throw CorruptData("SentencePiece model " + source.string() + " cannot be loaded: " + status.ToString());
  }
  fingerprint_ = tokenizer_fingerprint({bytes}, kind());
}

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

void SentencePieceTokenizer::check_id(int32_t id) const {
  if (id < 0 || id >= vocab_size()) {
    throw InvalidArgument("token id " + std::to_string(id) + " is outside the SentencePiece vocab of " +
                          std::to_string(vocab_size()));
  }
}

std::vector<int32_t> SentencePieceTokenizer::encode(std::string_view text, bool add_bos) const {
  std::vector<int> ids;
  auto status = sp_->Encode(text, &ids);
  if (!status.ok()) throw InvalidArgument("SentencePiece cannot encode the text: " + status.ToString());
  std::vector<int32_t> out;
  out.reserve(ids.size() + 1);
  if (add_bos && bos_id() >= 0) out.push_back(bos_id());
  out.insert(out.end(), ids.begin(), ids.end());
  return out;
}

std::string SentencePieceTokenizer::decode(const std::vector<int32_t>& ids) const {
  for (int32_t id : ids) check_id(id);
  std::vector<int> in(ids.begin(), ids.end());
  std::string text;
  auto status = sp_->Decode(in, &text);
  if (!status.ok()) throw InvalidArgument("SentencePiece cannot decode the ids: " + status.ToString());
  return text;
}

std::string SentencePieceTokenizer::token_bytes(int32_t id, int32_t prev_id) const {
  check_id(id);
  if (sp_->IsControl(id)) return {};
  const std::string& piece = sp_->IdToPiece(id);
  if (sp_->IsByte(id)) {  // "<0xNN>"
    return std::string(1, static_cast<char>(std::stoi(piece.substr(3, 2), nullptr, 16)));
  }
  if (sp_->IsUnknown(id)) return " \xE2\x81\x87 ";  // SentencePiece's default unk surface " ⁇ "
  std::string out;
  out.reserve(piece.size());
  for (size_t i = 0; i < piece.size();) {
    if (std::string_view(piece).substr(i, kSpaceSymbol.size()) == kSpaceSymbol) {
      out += ' ';
      i += kSpaceSymbol.size();
    } else {
      out += piece[i++];
    }
  }
  bool first = prev_id < 0 || prev_id == bos_id();
  if (first && !out.empty() && out[0] == ' ') out.erase(0, 1);
  return out;
}

int32_t SentencePieceTokenizer::vocab_size() const { return sp_->GetPieceSize(); }

int32_t SentencePieceTokenizer::bos_id() const { return sp_->bos_id(); }

std::vector<int32_t> SentencePieceTokenizer::eos_ids() const {
  if (sp_->eos_id() < 0) return {};
  return {sp_->eos_id()};
}

std::optional<int32_t> SentencePieceTokenizer::token_id(std::string_view piece) const {
  int id = sp_->PieceToId(piece);
  if (id < 0 || id >= vocab_size() || sp_->IdToPiece(id) != piece) return std::nullopt;
  return id;
}

}  // namespace cdb
