// SentencePiece models through libsentencepiece, on a model the test
// trains itself (support/sentencepiece_model.h), checked against Debian's
// spm_encode.
#include <gtest/gtest.h>

#include <fstream>

#include "common/error.h"
#include "engine/tokenizer/stream_decoder.h"
#include "engine/tokenizer/tokenizer.h"
#include "support/sentencepiece_model.h"
#include "support/temp_dir.h"

namespace cdb {
namespace {

std::unique_ptr<Tokenizer> trained() { return load_tokenizer(test::trained_sentencepiece_model()); }

TEST(SentencePieceTokenizer, IdsEqualThoseOfDebiansSpmEncode) {
  auto tok = trained();
  EXPECT_EQ(tok->kind(), "sentencepiece");
  EXPECT_EQ(tok->vocab_size(), test::kSentencePieceVocab);
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_ids(), std::vector<int32_t>{2});
  for (std::string line : {"Hello world", "The quick brown fox jumps over the lazy dog.", "Lily and Tom were happy",
                           "x = 3.14159; // unseen: \xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\x98\x80", "  two  spaces"}) {
    const std::vector<int32_t> want = test::spm_encode_ids(test::trained_sentencepiece_model(), line);
    ASSERT_FALSE(want.empty()) << "spm_encode gave nothing for " << line;
    EXPECT_EQ(tok->encode(line, false), want) << line;
    std::vector<int32_t> with_bos = want;
    with_bos.insert(with_bos.begin(), 1);
    EXPECT_EQ(tok->encode(line, true), with_bos) << line;
  }
  EXPECT_EQ(tok->token_id("<0x0A>"), 3 + 0x0A);  // byte pieces follow unk, BOS, EOS
  EXPECT_EQ(tok->token_id("definitely-not-a-piece"), std::nullopt);
  EXPECT_EQ(tok->fingerprint().size(), 32u);
}

TEST(SentencePieceTokenizer, TokenBytes) {
  auto tok = trained();
  const std::vector<int32_t> ids = tok->encode("Hello world", false);
  ASSERT_GE(ids.size(), 2u);
  // The first piece (it starts with "▁") drops its leading space at the
  // start of a text (no previous token, or BOS) and keeps it after any other.
  const std::string first = tok->token_bytes(ids[0], -1);
  EXPECT_EQ(tok->token_bytes(ids[0], 1), first);
  EXPECT_EQ(tok->token_bytes(ids[0], ids.back()), " " + first);
  // Piece by piece, each read after its predecessor, the bytes are the text.
  std::string text;
  int32_t prev = -1;
  for (int32_t id : ids) {
    text += tok->token_bytes(id, prev);
    prev = id;
  }
  EXPECT_EQ(text, "Hello world");
  EXPECT_EQ(tok->token_bytes(13, ids.back()), "\n");  // byte piece
  EXPECT_EQ(tok->token_bytes(1, -1), "");              // control
  EXPECT_THROW(tok->token_bytes(test::kSentencePieceVocab, 1), InvalidArgument);
}

TEST(SentencePieceTokenizer, RoundTrips) {
  auto tok = trained();
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
  test::TempDir tmp("bad_model");
  auto path = tmp.path() / "bad.model";
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
