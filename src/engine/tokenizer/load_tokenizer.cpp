#include <cctype>

#include "common/error.h"
#include "engine/tokenizer/fingerprint.h"
#include "engine/tokenizer/hf_bpe_tokenizer.h"
#include "engine/tokenizer/llama2c_tokenizer.h"
#include "engine/tokenizer/sentencepiece_tokenizer.h"
#include "engine/tokenizer/tokenizer.h"

namespace cdb {

namespace {

std::string optional_file(const std::filesystem::path& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec) ? read_file_bytes(path) : std::string();
}

std::unique_ptr<Tokenizer> load_file(const std::filesystem::path& file) {
  std::string ext = file.extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == ".json") {
    HfBpeTokenizer::Files files;
    files.tokenizer_json = read_file_bytes(file);
    files.tokenizer_config_json = optional_file(file.parent_path() / "tokenizer_config.json");
    files.generation_config_json = optional_file(file.parent_path() / "generation_config.json");
    return std::make_unique<HfBpeTokenizer>(files, file);
  }
  if (ext == ".model") return std::make_unique<SentencePieceTokenizer>(read_file_bytes(file), file);
  if (ext == ".bin") return std::make_unique<Llama2cTokenizer>(read_file_bytes(file), file);
  throw Unsupported("tokenizer file " + file.string() +
                    ": unknown kind; expected a llama2.c vocab (.bin), a SentencePiece model (.model) or a "
                    "Hugging Face tokenizer.json (.json)");
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    for (const char* name : {"tokenizer.json", "tokenizer.model", "tokenizer.bin"}) {
      if (std::filesystem::is_regular_file(path / name, ec)) return load_file(path / name);
    }
    throw NotFound("model directory " + path.string() +
                   " holds no tokenizer.json, tokenizer.model or tokenizer.bin");
  }
  if (!std::filesystem::exists(path, ec)) throw NotFound("tokenizer not found: " + path.string());
  return load_file(path);
}

bool is_printable_piece(std::string_view piece) {
  if (piece.empty()) return false;
  if (piece.size() == 1) {
    auto b = static_cast<unsigned char>(piece[0]);
    // isprint/isspace in the C locale, without consulting the process locale.
    bool printable = b >= 0x20 && b < 0x7F;
    bool space = b == ' ' || (b >= '\t' && b <= '\r');
    return printable || space;
  }
  return true;
}

}  // namespace cdb
