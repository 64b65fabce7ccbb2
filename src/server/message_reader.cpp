#include "server/message_reader.h"

#include <cstring>

namespace cdb::server {

uint32_t read_be32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | uint32_t{u[3]};
}

size_t body_length(const char* length_bytes, char type, size_t max_body) {
  const uint32_t len = read_be32(length_bytes);
  if (len < 4)
    throw ProtocolViolation("invalid message length " + std::to_string(len) + " for message type '" +
                            std::string(1, type) + "'");
  if (len - 4 > max_body)
    throw MessageTooLarge("message of " + std::to_string(len - 4) + " bytes exceeds the server's limit of " +
                          std::to_string(max_body) + " bytes");
  return len - 4;
}

void MessageReader::truncated(const char* what) const {
  throw ProtocolViolation(std::string("truncated message '") + type_ + "': missing " + what);
}

uint8_t MessageReader::i8() {
  if (remaining() < 1) truncated("a byte");
  return static_cast<uint8_t>(body_[pos_++]);
}

int16_t MessageReader::i16() {
  if (remaining() < 2) truncated("an int16");
  const auto* u = reinterpret_cast<const unsigned char*>(body_.data() + pos_);
  pos_ += 2;
  return static_cast<int16_t>((u[0] << 8) | u[1]);
}

int32_t MessageReader::i32() {
  if (remaining() < 4) truncated("an int32");
  const uint32_t v = read_be32(body_.data() + pos_);
  pos_ += 4;
  return static_cast<int32_t>(v);
}

std::string_view MessageReader::cstr() {
  const void* nul = std::memchr(body_.data() + pos_, '\0', remaining());
  if (!nul) truncated("a string terminator");
  const size_t n = static_cast<const char*>(nul) - (body_.data() + pos_);
  std::string_view s = body_.substr(pos_, n);
  pos_ += n + 1;
  return s;
}

std::string_view MessageReader::bytes(size_t n) {
  if (remaining() < n) truncated("bytes");
  std::string_view s = body_.substr(pos_, n);
  pos_ += n;
  return s;
}

void MessageReader::finish() const {
  if (remaining() != 0)
    throw ProtocolViolation("message '" + std::string(1, type_) + "' has " + std::to_string(remaining()) +
                            " unexpected trailing bytes");
}

}  // namespace cdb::server
