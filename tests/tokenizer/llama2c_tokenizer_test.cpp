// llama2.c's tokenizer.bin (stories260K's tok512.bin). Expected ids come from
// a line-by-line port of run.c's encode() (dummy prefix " ", byte fallback at
// byte+3, greedy merges by best score, leftmost on ties).
#include <gtest/gtest.h>

#include <fstream>

#include "common/error.h"
#include "common/models_dir.h"
#include "engine/tokenizer/stream_decoder.h"
#include "engine/tokenizer/tokenizer.h"
#include "support/temp_dir.h"

namespace cdb {
namespace {

std::unique_ptr<Tokenizer> tok512() { return load_tokenizer(model_file("stories260K/tok512.bin")); }

TEST(Llama2cTokenizer, LoadsTok512) {
  auto tok = tok512();
  EXPECT_EQ(tok->kind(), "llama2c");
  EXPECT_EQ(tok->vocab_size(), 512);
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_ids(), std::vector<int32_t>{2});
  EXPECT_EQ(tok->token_id(" Once"), 403);
  EXPECT_EQ(tok->token_id("<0x0A>"), 13);
  EXPECT_EQ(tok->token_id("<s>"), std::nullopt);  // its piece is "\n<s>\n"
  EXPECT_EQ(tok->fingerprint().size(), 32u);
  EXPECT_EQ(tok->fingerprint(), tok512()->fingerprint());
}

TEST(Llama2cTokenizer, EncodesLikeRunC) {
  auto tok = tok512();
  using V = std::vector<int32_t>;
  EXPECT_EQ(tok->encode("Once upon a time", true), (V{1, 403, 407, 261, 378}));
  EXPECT_EQ(tok->encode("Hello world", true), (V{1, 346, 306, 414, 263, 304, 341}));
  EXPECT_EQ(tok->encode("Lily's cat 123!", false), (V{317, 439, 419, 280, 294, 410, 475, 479, 472, 443}));
  // Characters outside the vocab fall back to <0xNN> = byte + 3.
  EXPECT_EQ(tok->encode("\xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\x98\x80", true),
            (V{1, 410, 231, 192, 163, 232, 168, 192, 410, 243, 162, 155, 131}));
  EXPECT_EQ(tok->encode("a\tb\n\nc", true), (V{1, 261, 12, 430, 13, 13, 429}));
  // No dummy prefix for empty text; special pieces are ordinary text here.
  EXPECT_EQ(tok->encode("", true), V{1});
  EXPECT_EQ(tok->encode("", false), V{});
  EXPECT_EQ(tok->encode("<s>", false), (V{410, 504, 419, 505}));
  EXPECT_EQ(tok->encode("Once upon a time, there was a little girl named Lily.", true),
            (V{1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426}));
}

TEST(Llama2cTokenizer, DecodesLikeRunC) {
  auto tok = tok512();
  // After BOS the leading space of a piece goes; elsewhere it stays.
  EXPECT_EQ(tok->token_bytes(403, 1), "Once");
  EXPECT_EQ(tok->token_bytes(403, 378), " Once");
  EXPECT_EQ(tok->token_bytes(403, -1), " Once");
  // <0xNN> pieces decode to the raw byte.
  EXPECT_EQ(tok->token_bytes(13, 378), "\n");
  EXPECT_EQ(tok->token_bytes(231, 1), "\xE4");
  EXPECT_EQ(tok->token_bytes(3, 1), std::string(1, '\0'));
  EXPECT_EQ(tok->token_bytes(1, -1), "");  // BOS is not text; llama2.c stops on it
  EXPECT_EQ(tok->token_bytes(2, 378), "\n</s>\n");  // EOS is printed by llama2.c's run
  EXPECT_EQ(tok->decode({1, 403, 407, 261, 378}), "Once upon a time");
  EXPECT_THROW(tok->token_bytes(512, 1), InvalidArgument);
  EXPECT_THROW(tok->token_bytes(-1, 1), InvalidArgument);

  for (std::string text : {"Once upon a time, there was a little girl named Lily.", "a\tb\n\nc",
                           "\xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\x98\x80 caf\xC3\xA9"}) {
    // The dummy-prefix space is stripped after BOS, so the round trip is exact.
    EXPECT_EQ(tok->decode(tok->encode(text, true)), text);
    StreamDecoder stream(*tok);
    std::string streamed;
    for (int32_t id : tok->encode(text, true)) streamed += stream.push(id);
    streamed += stream.finish();
    EXPECT_EQ(streamed, text);
  }
}

TEST(Llama2cTokenizer, PrintablePieceMatchesSafePrintf) {
  EXPECT_TRUE(is_printable_piece("a"));
  EXPECT_TRUE(is_printable_piece(" "));
  EXPECT_TRUE(is_printable_piece("\n"));
  EXPECT_TRUE(is_printable_piece("\t"));
  EXPECT_TRUE(is_printable_piece(" Once"));
  EXPECT_TRUE(is_printable_piece("\xC3\xA9"));
  EXPECT_FALSE(is_printable_piece(""));
  EXPECT_FALSE(is_printable_piece(std::string(1, '\0')));
  EXPECT_FALSE(is_printable_piece("\x01"));
  EXPECT_FALSE(is_printable_piece("\x7F"));
  EXPECT_FALSE(is_printable_piece("\xE4"));  // a lone UTF-8 lead byte from <0xE4>
}

TEST(Llama2cTokenizer, RejectsTruncatedFiles) {
  std::ifstream in(model_file("stories260K/tok512.bin"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  test::TempDir tmp("tok512_cut");
  auto path = tmp.path() / "tok512_cut.bin";
  std::ofstream(path, std::ios::binary) << bytes.substr(0, bytes.size() - 3);
  try {
    load_tokenizer(path);
    ADD_FAILURE() << "a truncated tokenizer.bin loaded";
  } catch (const CorruptData& e) {
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("offset"), std::string::npos) << e.what();
  }
  std::filesystem::remove(path);
  EXPECT_THROW(load_tokenizer(path), NotFound);
}

}  // namespace
}  // namespace cdb
