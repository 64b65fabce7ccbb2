// Content hashes used across the project: xxh3-64 for checksums and
// xxh3-128 (as 32 lowercase hex digits) for content identity.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace cdb {

uint64_t xxh3_64(const void* data, size_t len);
inline uint64_t xxh3_64(std::string_view s) { return xxh3_64(s.data(), s.size()); }

// xxh3-64 of several pieces fed in order: equal to xxh3_64 of their
// concatenation, for data that is not contiguous in memory.
class Xxh3Stream {
 public:
  Xxh3Stream();
  ~Xxh3Stream();
  Xxh3Stream(const Xxh3Stream&) = delete;
  Xxh3Stream& operator=(const Xxh3Stream&) = delete;
  void update(const void* data, size_t len);
  uint64_t digest() const;

 private:
  void* state_;  // XXH3_state_t, kept opaque so that xxhash.h stays private
};

// xxh3-128 as 32 hex digits, high half first (the canonical XXH128 order).
std::string xxh3_128_hex(const void* data, size_t len);
inline std::string xxh3_128_hex(std::string_view s) { return xxh3_128_hex(s.data(), s.size()); }

// Lowercase hex of a 64-bit value, zero padded to 16 digits.
std::string hex64(uint64_t v);

}  // namespace cdb
