#include "language/parse_error.h"

namespace cdb {

namespace {

std::string format(lang::SourcePos pos, const std::string& detail, ParseErrorKind kind) {
  std::string out(parse_error_kind_text(kind));
  out += " at " + std::to_string(pos.line) + ":" + std::to_string(pos.column) + ": " + detail;
  return out;
}

}  // namespace

std::string_view parse_error_kind_text(ParseErrorKind kind) {
  switch (kind) {
    case ParseErrorKind::Syntax: return "syntax error";
    case ParseErrorKind::Option: return "invalid option";
    case ParseErrorKind::Setting: return "invalid setting";
    case ParseErrorKind::Sql: return "SQL error";
  }
  return "syntax error";
}

ParseError::ParseError(lang::SourcePos pos, std::string detail, ParseErrorKind kind)
    : InvalidArgument(format(pos, detail, kind)), pos_(pos), detail_(std::move(detail)), cause_(kind) {}

namespace lang {

std::string caret_excerpt(std::string_view source, std::size_t offset) {
  if (offset > source.size()) offset = source.size();
  const std::size_t nl = offset == 0 ? std::string_view::npos : source.rfind('\n', offset - 1);
  const std::size_t begin = nl == std::string_view::npos ? 0 : nl + 1;
  std::size_t end = source.find('\n', begin);
  if (end == std::string_view::npos) end = source.size();

  std::string out(source.substr(begin, end - begin));
  if (!out.empty() && out.back() == '\r') out.pop_back();
  out += '\n';
  for (std::size_t i = begin; i < offset; ++i) {
    const unsigned char c = static_cast<unsigned char>(source[i]);
    if ((c & 0xC0) == 0x80) continue;  // one column per character, not per byte
    out += c == '\t' ? '\t' : ' ';
  }
  out += '^';
  return out;
}

}  // namespace lang
}  // namespace cdb
