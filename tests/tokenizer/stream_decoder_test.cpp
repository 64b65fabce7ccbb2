// StreamDecoder holds back characters split across tokens. A tiny llama2.c
// vocab whose <0xNN> byte tokens spell out multi-byte characters drives it.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "engine/tokenizer/stream_decoder.h"
#include "engine/tokenizer/tokenizer.h"
#include "support/temp_dir.h"

namespace cdb {
namespace {

// A llama2.c vocab: <unk>, <s>, </s>, the 256 byte tokens, then "ab".
std::unique_ptr<Tokenizer> byte_vocab() {
  std::string bytes;
  auto put_i32 = [&](int32_t v) { bytes.append(reinterpret_cast<const char*>(&v), 4); };
  auto put_piece = [&](const std::string& p) {
    float score = 0;
    bytes.append(reinterpret_cast<const char*>(&score), 4);
    put_i32(static_cast<int32_t>(p.size()));
    bytes += p;
  };
  put_i32(8);
  put_piece("<unk>");
  put_piece("\n<s>\n");
  put_piece("\n</s>\n");
  char buf[8];
  for (int b = 0; b < 256; ++b) {
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    put_piece(buf);
  }
  put_piece("ab");
  test::TempDir tmp("bytes");
  const auto path = tmp.path() / "bytes.bin";
  std::ofstream(path, std::ios::binary) << bytes;
  return load_tokenizer(path);
}

int32_t byte_id(unsigned char b) { return b + 3; }

TEST(StreamDecoder, HoldsBackSplitCharacters) {
  auto tok = byte_vocab();
  StreamDecoder d(*tok);
  EXPECT_EQ(d.push(259), "ab");
  // U+1F600 in four byte tokens: nothing until the last one.
  EXPECT_EQ(d.push(byte_id(0xF0)), "");
  EXPECT_EQ(d.push(byte_id(0x9F)), "");
  EXPECT_EQ(d.push(byte_id(0x98)), "");
  EXPECT_EQ(d.push(byte_id(0x80)), "\xF0\x9F\x98\x80");
  // A two-byte character followed by ASCII in the next token.
  EXPECT_EQ(d.push(byte_id(0xC3)), "");
  EXPECT_EQ(d.push(byte_id(0xA9)), "\xC3\xA9");
  EXPECT_EQ(d.finish(), "");
}

TEST(StreamDecoder, ReplacesInvalidBytes) {
  auto tok = byte_vocab();
  StreamDecoder d(*tok);
  // A lone continuation byte can never become valid: replaced at once.
  EXPECT_EQ(d.push(byte_id(0x80)), "\xEF\xBF\xBD");
  // A lead byte followed by ASCII: the lead becomes U+FFFD, the ASCII stays.
  EXPECT_EQ(d.push(byte_id(0xE4)), "");
  EXPECT_EQ(d.push(259), "\xEF\xBF\xBD" "ab");
  // A sequence still open at the end is flushed as U+FFFD by finish().
  EXPECT_EQ(d.push(byte_id(0xE4)), "");
  EXPECT_EQ(d.push(byte_id(0xBD)), "");
  EXPECT_EQ(d.finish(), "\xEF\xBF\xBD");
  EXPECT_EQ(d.finish(), "");
  // Overlong and surrogate encodings are invalid, not incomplete.
  EXPECT_EQ(d.push(byte_id(0xC0)), "\xEF\xBF\xBD");
  EXPECT_EQ(d.push(byte_id(0xED)), "");
  EXPECT_EQ(d.push(byte_id(0xA0)), "\xEF\xBF\xBD\xEF\xBF\xBD");
}

}  // namespace
}  // namespace cdb
