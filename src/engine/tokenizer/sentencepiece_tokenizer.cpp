#include "engine/tokenizer/sentencepiece_tokenizer.h"

#include "common/error.h"
#include "engine/tokenizer/fingerprint.h"
#include "engine/tokenizer/sentencepiece_shim/sentencepiece_shim.h"

namespace cdb {

namespace {

constexpr std::string_view kSpaceSymbol = "\xE2\x96\x81";  // U+2581 '▁'
constexpr size_t kErrBytes = 512;

}  // namespace

SentencePieceTokenizer::SentencePieceTokenizer(const std::string& bytes, const std::filesystem::path& source)
    : model_(nullptr, Free{lib_.free_model}) {
  char err[kErrBytes] = {};
  model_.reset(lib_.load(bytes.data(), bytes.size(), err, sizeof err));
  if (!model_) throw CorruptData("SentencePiece model " + source.string() + " cannot be loaded: " + err);
  fingerprint_ = tokenizer_fingerprint({bytes}, kind());
}

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

void SentencePieceTokenizer::check_id(int32_t id) const {
  if (id < 0 || id >= vocab_size()) {
    throw InvalidArgument("token id " + std::to_string(id) + " is outside the SentencePiece vocab of " +
                          std::to_string(vocab_size()));
  }
}

std::string_view SentencePieceTokenizer::piece(int32_t id) const {
  size_t len = 0;
  const char* p = lib_.id_to_piece(model_.get(), id, &len);
  return {p, len};
}

std::vector<int32_t> SentencePieceTokenizer::encode(std::string_view text, bool add_bos) const {
  char err[kErrBytes] = {};
  int* ids = nullptr;
  size_t count = 0;
  if (lib_.encode(model_.get(), text.data(), text.size(), &ids, &count, err, sizeof err) != 0)
    throw InvalidArgument(std::string("SentencePiece cannot encode the text: ") + err);
  std::vector<int32_t> out;
  out.reserve(count + 1);
  if (add_bos && bos_id() >= 0) out.push_back(bos_id());
  out.insert(out.end(), ids, ids + count);
  lib_.free_buffer(ids);
  return out;
}

std::string SentencePieceTokenizer::decode(const std::vector<int32_t>& ids) const {
  for (int32_t id : ids) check_id(id);
  std::vector<int> in(ids.begin(), ids.end());
  char err[kErrBytes] = {};
  char* text = nullptr;
  size_t len = 0;
  if (lib_.decode(model_.get(), in.data(), in.size(), &text, &len, err, sizeof err) != 0)
    throw InvalidArgument(std::string("SentencePiece cannot decode the ids: ") + err);
  std::string out(text, len);
  lib_.free_buffer(text);
  return out;
}

std::string SentencePieceTokenizer::token_bytes(int32_t id, int32_t prev_id) const {
  check_id(id);
  const int kind = lib_.id_kind(model_.get(), id);
  if (kind & CDB_SPM_CONTROL) return {};
  const std::string_view p = piece(id);
  if (kind & CDB_SPM_BYTE) {  // "<0xNN>"
    return std::string(1, static_cast<char>(std::stoi(std::string(p.substr(3, 2)), nullptr, 16)));
  }
  if (kind & CDB_SPM_UNKNOWN) return " \xE2\x81\x87 ";  // SentencePiece's default unk surface " ⁇ "
  std::string out;
  out.reserve(p.size());
  for (size_t i = 0; i < p.size();) {
    if (p.substr(i, kSpaceSymbol.size()) == kSpaceSymbol) {
      out += ' ';
      i += kSpaceSymbol.size();
    } else {
      out += p[i++];
    }
  }
  bool first = prev_id < 0 || prev_id == bos_id();
  if (first && !out.empty() && out[0] == ' ') out.erase(0, 1);
  return out;
}

int32_t SentencePieceTokenizer::vocab_size() const { return lib_.piece_size(model_.get()); }

int32_t SentencePieceTokenizer::bos_id() const { return lib_.bos_id(model_.get()); }

std::vector<int32_t> SentencePieceTokenizer::eos_ids() const {
  const int eos = lib_.eos_id(model_.get());
  if (eos < 0) return {};
  return {eos};
}

std::optional<int32_t> SentencePieceTokenizer::token_id(std::string_view p) const {
  int id = lib_.piece_to_id(model_.get(), p.data(), p.size());
  if (id < 0 || id >= vocab_size() || piece(id) != p) return std::nullopt;
  return id;
}

}  // namespace cdb
