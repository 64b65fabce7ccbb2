#include "common/hash.h"

#include <xxhash.h>

#include <cstdio>

namespace cdb {

uint64_t xxh3_64(const void* data, size_t len) { return XXH3_64bits(data, len); }

std::string xxh3_128_hex(const void* data, size_t len) {
  XXH128_hash_t h = XXH3_128bits(data, len);
  return hex64(h.high64) + hex64(h.low64);
}

std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace cdb
