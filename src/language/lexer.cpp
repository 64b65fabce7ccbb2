#include "language/lexer.h"

#include <charconv>
#include <cstdio>
#include <string>

#include "language/parse_error.h"

namespace cdb::lang {

namespace {

constexpr std::size_t npos = std::string_view::npos;

// Character classes are ASCII and explicit: <cctype> depends on the locale
// and is undefined for negative chars (UTF-8 bytes).
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_word_start(char c) { return is_alpha(c) || c == '_'; }
bool is_word_char(char c) { return is_word_start(c) || is_digit(c); }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_punct(char c) { return c > ' ' && c < 0x7F && !is_word_char(c); }

bool starts_comment(std::string_view s, std::size_t i) {
  return i + 1 < s.size() && s[i] == '-' && s[i + 1] == '-';
}

// Offset of the '\n' ending the comment at `i`, or the end of the input.
std::size_t comment_end(std::string_view s, std::size_t i) {
  const std::size_t nl = s.find('\n', i);
  return nl == npos ? s.size() : nl;
}

// `s[open]` is a quote character; returns the offset just past the closing
// quote, or npos when the quote is never closed. A doubled quote inside is
// an escaped quote, not the end.
std::size_t quoted_end(std::string_view s, std::size_t open) {
  const char q = s[open];
  for (std::size_t i = open + 1; i < s.size(); ++i) {
    if (s[i] != q) continue;
    if (i + 1 < s.size() && s[i + 1] == q) {
      ++i;
      continue;
    }
    return i + 1;
  }
  return npos;
}

std::string unterminated_message(char quote) {
  return quote == '\'' ? "unterminated string: the quote opened here is never closed"
                       : "unterminated quoted name: the quote opened here is never closed";
}

}  // namespace

void Lexer::advance_to(std::size_t offset) {
  for (; pos_ < offset; ++pos_) {
    const unsigned char c = static_cast<unsigned char>(src_[pos_]);
    if (c == '\n') {
      ++line_;
      column_ = 1;
    } else if ((c & 0xC0) != 0x80) {  // UTF-8 continuation bytes are not columns
      ++column_;
    }
  }
}

void Lexer::skip_trivia() {
  while (pos_ < src_.size()) {
    if (is_space(src_[pos_])) {
      advance_to(pos_ + 1);
    } else if (starts_comment(src_, pos_)) {
      advance_to(comment_end(src_, pos_));
    } else {
      return;
    }
  }
}

Token Lexer::next() {
  skip_trivia();
  if (pos_ >= src_.size()) {
    Token t;
    t.pos = here();
    t.end = pos_;
    return t;
  }
  const char c = src_[pos_];
  const auto digit_at = [&](std::size_t i) { return i < src_.size() && is_digit(src_[i]); };
  if (is_word_start(c)) return word();
  if (is_digit(c) || (c == '.' && digit_at(pos_ + 1)) ||
      (c == '-' && (digit_at(pos_ + 1) || (pos_ + 1 < src_.size() && src_[pos_ + 1] == '.' && digit_at(pos_ + 2))))) {
    return number();
  }
  if (c == '\'' || c == '"') return quoted(c);
  if (is_punct(c)) {
    Token t;
    t.kind = TokenKind::Symbol;
    t.text = std::string(1, c);
    t.pos = here();
    advance_to(pos_ + 1);
    t.end = pos_;
    return t;
  }
  // Anything else (a control character, or non-ASCII text outside quotes)
  // starts no token. Show the whole UTF-8 character, or a hex escape.
  std::string shown;
  const unsigned char u = static_cast<unsigned char>(c);
  if (u >= 0x80) {
    std::size_t n = 1;
    while (pos_ + n < src_.size() && (static_cast<unsigned char>(src_[pos_ + n]) & 0xC0) == 0x80) ++n;
    shown = "'" + std::string(src_.substr(pos_, n)) + "'";
  } else {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02X", u);
    shown = buf;
  }
  throw ParseError(here(), "unexpected character " + shown + " (names that are not [A-Za-z_][A-Za-z0-9_]* must be \"double-quoted\")");
}

Token Lexer::word() {
  Token t;
  t.kind = TokenKind::Word;
  t.pos = here();
  std::size_t i = pos_;
  while (i < src_.size() && is_word_char(src_[i])) ++i;
  t.text = std::string(src_.substr(pos_, i - pos_));
  advance_to(i);
  t.end = pos_;
  return t;
}

Token Lexer::number() {
  Token t;
  t.pos = here();
  const std::size_t start = pos_;
  std::size_t i = pos_;
  const auto digits = [&] {
    const std::size_t from = i;
    while (i < src_.size() && is_digit(src_[i])) ++i;
    return i - from;
  };
  if (src_[i] == '-') ++i;
  digits();
  bool is_float = false;
  if (i < src_.size() && src_[i] == '.') {
    is_float = true;
    ++i;
    digits();
  }
  bool bad = false;
  if (i < src_.size() && (src_[i] == 'e' || src_[i] == 'E')) {
    is_float = true;
    ++i;
    if (i < src_.size() && (src_[i] == '+' || src_[i] == '-')) ++i;
    bad = digits() == 0;
  }
  // "12abc" or "1e" is one malformed token, not a number and a word.
  if (bad || (i < src_.size() && is_word_char(src_[i]))) {
    while (i < src_.size() && (is_word_char(src_[i]) || src_[i] == '.')) ++i;
    throw ParseError(t.pos, "malformed number '" + std::string(src_.substr(start, i - start)) + "'");
  }
  t.text = std::string(src_.substr(start, i - start));
  const char* first = src_.data() + start;
  const char* last = src_.data() + i;
  std::from_chars_result r;
  if (is_float) {
    t.kind = TokenKind::Float;
    r = std::from_chars(first, last, t.real);
  } else {
    t.kind = TokenKind::Integer;
    r = std::from_chars(first, last, t.integer);
  }
  if (r.ec == std::errc::result_out_of_range) {
    throw ParseError(t.pos, "number " + t.text + " is out of range" +
                                (is_float ? std::string() : " (integers are 64-bit)"));
  }
  if (r.ec != std::errc() || r.ptr != last) {
    throw ParseError(t.pos, "malformed number '" + t.text + "'");
  }
  advance_to(i);
  t.end = pos_;
  return t;
}

Token Lexer::quoted(char quote) {
  Token t;
  t.kind = quote == '\'' ? TokenKind::String : TokenKind::QuotedName;
  t.pos = here();
  const std::size_t end = quoted_end(src_, pos_);
  if (end == npos) throw ParseError(t.pos, unterminated_message(quote));
  for (std::size_t i = pos_ + 1; i + 1 < end; ++i) {
    t.text += src_[i];
    if (src_[i] == quote) ++i;  // the second of a doubled quote
  }
  if (t.kind == TokenKind::QuotedName && t.text.empty()) {
    throw ParseError(t.pos, "empty quoted name \"\"");
  }
  advance_to(end);
  t.end = pos_;
  return t;
}

std::size_t Lexer::skip_to_terminator() {
  std::size_t i = pos_;
  std::size_t last = pos_;
  while (i < src_.size() && src_[i] != ';') {
    const char c = src_[i];
    if (c == '\'' || c == '"') {
      const std::size_t end = quoted_end(src_, i);
      if (end == npos) {
        advance_to(i);
        throw ParseError(here(), unterminated_message(c));
      }
      i = last = end;
    } else if (starts_comment(src_, i)) {
      i = comment_end(src_, i);
    } else {
      ++i;
      if (!is_space(c)) last = i;
    }
  }
  advance_to(i);
  return last;
}

bool statement_complete(std::string_view buffer) {
  for (std::size_t i = 0; i < buffer.size();) {
    const char c = buffer[i];
    if (c == ';') return true;
    if (c == '\'' || c == '"') {
      i = quoted_end(buffer, i);
      if (i == npos) return false;
    } else if (starts_comment(buffer, i)) {
      i = comment_end(buffer, i);
    } else {
      ++i;
    }
  }
  return false;
}

}  // namespace cdb::lang
