#include "server/message_writer.h"

#include "server/pg_types.h"

#include <stdexcept>

namespace cdb::server {

namespace {
void put32(std::string& b, size_t at, uint32_t v) {
  b[at] = static_cast<char>(v >> 24);
  b[at + 1] = static_cast<char>(v >> 16);
  b[at + 2] = static_cast<char>(v >> 8);
  b[at + 3] = static_cast<char>(v);
}
}  // namespace

MessageWriter& MessageWriter::begin(char type) {
  if (start_ != std::string::npos) throw std::logic_error("MessageWriter: begin() inside an open message");
  buf_.push_back(type);
  start_ = buf_.size();
  buf_.append(4, '\0');
  return *this;
}

MessageWriter& MessageWriter::i8(uint8_t v) {
  buf_.push_back(static_cast<char>(v));
  return *this;
}

MessageWriter& MessageWriter::i16(int16_t v) {
  buf_.push_back(static_cast<char>(static_cast<uint16_t>(v) >> 8));
  buf_.push_back(static_cast<char>(v));
  return *this;
}

MessageWriter& MessageWriter::i32(int32_t v) {
  const size_t at = buf_.size();
  buf_.append(4, '\0');
  put32(buf_, at, static_cast<uint32_t>(v));
  return *this;
}

MessageWriter& MessageWriter::cstr(std::string_view s) {
  // A NUL inside would end the field early on the client's side.
  for (char c : s) buf_.push_back(c == '\0' ? ' ' : c);
  buf_.push_back('\0');
  return *this;
}

MessageWriter& MessageWriter::bytes(std::string_view s) {
  buf_.append(s);
  return *this;
}

MessageWriter& MessageWriter::end() {
  if (start_ == std::string::npos) throw std::logic_error("MessageWriter: end() without begin()");
  put32(buf_, start_, static_cast<uint32_t>(buf_.size() - start_));
  start_ = std::string::npos;
  return *this;
}

std::string MessageWriter::take() {
  std::string out;
  out.swap(buf_);
  start_ = std::string::npos;
  return out;
}

void write_authentication(MessageWriter& w, int32_t code, std::string_view payload) {
  w.begin('R').i32(code).bytes(payload).end();
}

void write_parameter_status(MessageWriter& w, std::string_view name, std::string_view value) {
  w.begin('S').cstr(name).cstr(value).end();
}

void write_ready_for_query(MessageWriter& w, char status) { w.begin('Z').i8(static_cast<uint8_t>(status)).end(); }

void write_command_complete(MessageWriter& w, std::string_view tag) { w.begin('C').cstr(tag).end(); }

void write_row_description(MessageWriter& w, const std::vector<std::string>& columns,
                           const std::vector<int16_t>& formats, const std::vector<int32_t>& oids) {
  constexpr int32_t kTextOid = 25;
  // The caller checks Bind's count against the columns (08P01); this only
  // keeps a slip there from reading past `formats`.
  if (formats.size() > 1 && formats.size() != columns.size())
    throw std::invalid_argument("row description: " + std::to_string(formats.size()) + " formats for " +
                                std::to_string(columns.size()) + " columns");
  w.begin('T').i16(static_cast<int16_t>(columns.size()));
  for (size_t i = 0; i < columns.size(); ++i) {
    const int16_t format = formats.empty() ? 0 : formats.size() == 1 ? formats[0] : formats[i];
    // table oid, column number, type oid, type size (-1: varlena), type modifier, format
    const int32_t oid = i < oids.size() ? oids[i] : kTextOid;
    w.cstr(columns[i]).i32(0).i16(0).i32(oid).i16(type_size(oid)).i32(-1).i16(format);
  }
  w.end();
}

void write_data_row(MessageWriter& w, const std::vector<std::string>& cells) {
  w.begin('D').i16(static_cast<int16_t>(cells.size()));
  for (const auto& c : cells) w.i32(static_cast<int32_t>(c.size())).bytes(c);
  w.end();
}

}  // namespace cdb::server
