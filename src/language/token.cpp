#include "language/token.h"

namespace cdb::lang {

namespace {

// Long strings (a whole document passed to ADD DOCUMENT) would swamp the
// message; the position already says where the token is.
std::string shorten(const std::string& text) {
  constexpr std::size_t kMax = 24;
  if (text.size() <= kMax) return text;
  std::size_t cut = kMax;
  // Never cut inside a UTF-8 sequence.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut) + "...";
}

}  // namespace

std::string describe(const Token& token) {
  // Built by appending: GCC 12 warns falsely (-Wrestrict) on
  // "literal" + std::string&& here.
  std::string out;
  switch (token.kind) {
    case TokenKind::End: return "end of input";
    case TokenKind::Integer:
    case TokenKind::Float: return token.text;
    case TokenKind::Word:
    case TokenKind::Symbol: out.append("'").append(token.text).append("'"); break;
    case TokenKind::QuotedName: out.append("\"").append(shorten(token.text)).append("\""); break;
    case TokenKind::String: out.append("string '").append(shorten(token.text)).append("'"); break;
  }
  return out;
}

}  // namespace cdb::lang
