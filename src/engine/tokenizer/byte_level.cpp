#include "engine/tokenizer/byte_level.h"

#include <array>

#include "engine/tokenizer/utf8.h"

namespace cdb {

namespace {

// bytes_to_unicode(): printable Latin-1 bytes stand for themselves, the other
// 68 take code points 256, 257, ... in byte order. All below kAlphabetEnd.
constexpr char32_t kAlphabetEnd = 256 + 68;

constexpr std::array<char32_t, 256> make_table() {
  std::array<char32_t, 256> t{};
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    t[b] = printable ? static_cast<char32_t>(b) : next++;
  }
  return t;
}

// Code point -> byte, -1 outside the alphabet.
constexpr std::array<int, kAlphabetEnd> make_inverse() {
  std::array<int, kAlphabetEnd> inv{};
  for (auto& v : inv) v = -1;
  auto t = make_table();
  for (int b = 0; b < 256; ++b) inv[t[b]] = b;
  return inv;
}

constexpr std::array<char32_t, 256> kByteToChar = make_table();
constexpr std::array<int, kAlphabetEnd> kCharToByte = make_inverse();

std::string encode_utf8(char32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return out;
}

}  // namespace

std::string byte_level_char(unsigned char byte) { return encode_utf8(kByteToChar[byte]); }

std::optional<std::string> byte_level_decode(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  size_t pos = 0;
  while (pos < token.size()) {
    Utf8Step st = utf8_step(token, pos);
    if (st.kind != Utf8Step::Valid) return std::nullopt;
    auto byte = [&](size_t i) { return static_cast<char32_t>(static_cast<unsigned char>(token[pos + i])); };
    char32_t cp;
    if (st.length == 1) {
      cp = byte(0);
    } else if (st.length == 2) {
      cp = ((byte(0) & 0x1F) << 6) | (byte(1) & 0x3F);
    } else {
      return std::nullopt;  // the alphabet stays below U+0144
    }
    pos += st.length;
    if (cp >= kAlphabetEnd || kCharToByte[cp] < 0) return std::nullopt;
    out += static_cast<char>(kCharToByte[cp]);
  }
  return out;
}

}  // namespace cdb
