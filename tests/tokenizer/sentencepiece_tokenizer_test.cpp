// The Llama 2 SentencePiece model through libsentencepiece.
#include <gtest/gtest.h>

#include <fstream>

#include "common/error.h"
#include "common/models_dir.h"
#include "engine/tokenizer/stream_decoder.h"
#include "engine/tokenizer/tokenizer.h"

namespace cdb {
namespace {

std::unique_ptr<Tokenizer> llama2() { return load_tokenizer(model_file("llama2-tokenizer/tokenizer.model")); }

TEST(SentencePieceTokenizer, KnownLlama2Ids) {
  auto tok = llama2();
  EXPECT_EQ(tok->kind(), "sentencepiece");
  EXPECT_EQ(tok->vocab_size(), 32000);
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_ids(), std::vector<int32_t>{2});
  EXPECT_EQ(tok->encode("Hello world", false), (std::vector<int32_t>{15043, 3186}));
  EXPECT_EQ(tok->encode("Hello world", true), (std::vector<int32_t>{1, 15043, 3186}));
  EXPECT_EQ(tok->token_id("\xE2\x96\x81world"), 3186);  // "▁world"
  EXPECT_EQ(tok->token_id("<0x0A>"), 13);
  EXPECT_EQ(tok->token_id("definitely-not-a-piece"), std::nullopt);
  EXPECT_EQ(tok->fingerprint().size(), 32u);
}

TEST(SentencePieceTokenizer, TokenBytes) {
  auto tok = llama2();
  EXPECT_EQ(tok->token_bytes(15043, 1), "Hello");   // first piece: leading space dropped
  EXPECT_EQ(tok->token_bytes(15043, -1), "Hello");
  EXPECT_EQ(tok->token_bytes(3186, 15043), " world");
  EXPECT_EQ(tok->token_bytes(13, 3186), "\n");      // byte piece
  EXPECT_EQ(tok->token_bytes(1, -1), "");           // control
  EXPECT_THROW(tok->token_bytes(32000, 1), InvalidArgument);
}

TEST(SentencePieceTokenizer, RoundTrips) {
  auto tok = llama2();
  for (std::string text : {"Hello world", "The quick brown fox\njumps over\tthe lazy dog.",
                           "int x = 42; // \xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\x98\x80",
                           "Numbers 3.14159 and 1,000,000."}) {
    std::vector<int32_t> ids = tok->encode(text, true);
    EXPECT_EQ(tok->decode(ids), text);
    StreamDecoder stream(*tok);
    std::string streamed;
    for (int32_t id : ids) streamed += stream.push(id);
    streamed += stream.finish();
    EXPECT_EQ(streamed, text);
  }
}

TEST(SentencePieceTokenizer, CorruptModelIsReported) {
  auto path = std::filesystem::temp_directory_path() / ("cdb_bad_" + std::to_string(getpid()) + ".model");
  std::ofstream(path, std::ios::binary) << "not a protobuf";
  try {
    load_tokenizer(path);
    ADD_FAILURE() << "a corrupt .model loaded";
  } catch (const CorruptData& e) {
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
  }
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace cdb
