#include "engine/tokenizer/utf8.h"

namespace cdb {

Utf8Step utf8_step(std::string_view s, size_t pos) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char b0 = byte(pos);
  if (b0 < 0x80) return {Utf8Step::Valid, 1};
  size_t need;
  // The allowed range of the second byte excludes overlongs, surrogates and
  // code points above U+10FFFF (Unicode Table 3-7).
  unsigned char lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return {Utf8Step::Invalid, 1};
  }
  for (size_t k = 1; k < need; ++k) {
    if (pos + k >= s.size()) return {Utf8Step::Incomplete, k};
    unsigned char b = byte(pos + k);
    bool ok = k == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
    if (!ok) return {Utf8Step::Invalid, k};
  }
  return {Utf8Step::Valid, need};
}

size_t utf8_invalid_offset(std::string_view s) {
  size_t pos = 0;
  while (pos < s.size()) {
    Utf8Step st = utf8_step(s, pos);
    if (st.kind != Utf8Step::Valid) return pos;
    pos += st.length;
  }
  return std::string_view::npos;
}

std::string utf8_sanitize(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  while (pos < s.size()) {
    Utf8Step st = utf8_step(s, pos);
    if (st.kind == Utf8Step::Valid) {
      out.append(s.substr(pos, st.length));
    } else {
      out.append(kReplacementChar);
    }
    pos += st.length;
  }
  return out;
}

}  // namespace cdb
