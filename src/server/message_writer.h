// Encodes backend messages of the PostgreSQL protocol 3.0: a type byte, a
// big-endian int32 length that counts itself, then the fields. Messages are
// appended to one buffer so that a whole reply goes out in one write.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cdb::server {

class MessageWriter {
 public:
  // Starts a message; fields follow; end() patches its length.
  MessageWriter& begin(char type);
  MessageWriter& i8(uint8_t v);
  MessageWriter& i16(int16_t v);
  MessageWriter& i32(int32_t v);
  MessageWriter& cstr(std::string_view s);  // the bytes and a NUL
  MessageWriter& bytes(std::string_view s);
  MessageWriter& end();

  const std::string& data() const { return buf_; }
  bool empty() const { return buf_.empty(); }
  std::string take();

 private:
  std::string buf_;
  size_t start_ = std::string::npos;  // where the open message's length goes
};

// Common backend messages, appended to `w`.
void write_authentication(MessageWriter& w, int32_t code, std::string_view payload = {});
void write_parameter_status(MessageWriter& w, std::string_view name, std::string_view value);
void write_ready_for_query(MessageWriter& w, char status);
void write_command_complete(MessageWriter& w, std::string_view tag);
// `oids`: each column's type (pg_types.h; missing ones are text, OID 25);
// `formats` holds none (text), one for all columns, or one per column
// (else std::invalid_argument).
void write_row_description(MessageWriter& w, const std::vector<std::string>& columns,
                           const std::vector<int16_t>& formats = {}, const std::vector<int32_t>& oids = {});
void write_data_row(MessageWriter& w, const std::vector<std::string>& cells);

}  // namespace cdb::server
