// Decodes frontend messages: the framing (a type byte and an int32 length
// that counts itself, or for the startup packet the length alone) and the
// fields of one message body. Every read is bounds-checked: a malformed or
// truncated message throws ProtocolViolation, which ends that connection
// only.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace cdb::server {

class ProtocolViolation : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A message longer than the configured limit (SQLSTATE 54000).
class MessageTooLarge : public ProtocolViolation {
 public:
  using ProtocolViolation::ProtocolViolation;
};

uint32_t read_be32(const char* p);

// The body length of a regular message from its 4 length bytes; throws for
// a length under 4 or one whose body exceeds `max_body`.
size_t body_length(const char* length_bytes, char type, size_t max_body);

// Reads the fields of one message body in order.
class MessageReader {
 public:
  MessageReader(char type, std::string_view body) : type_(type), body_(body) {}

  char type() const { return type_; }
  uint8_t i8();
  int16_t i16();
  int32_t i32();
  std::string_view cstr();        // up to the next NUL, which is consumed
  std::string_view bytes(size_t n);
  size_t remaining() const { return body_.size() - pos_; }
  // Throws unless the whole body was read (trailing garbage is a violation).
  void finish() const;

 private:
  [[noreturn]] void truncated(const char* what) const;
  char type_;
  std::string_view body_;
  size_t pos_ = 0;
};

}  // namespace cdb::server
