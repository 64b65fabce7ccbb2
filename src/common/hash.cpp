#include "common/hash.h"

#include <xxhash.h>
#if defined(__x86_64__)
// The XXH3 entry points that pick SSE2, AVX2 or AVX-512 at run time
// (libxxhash exports them): the plain ones are built for SSE2 only, about
// half the speed on the chunk checksums that every tensor read verifies.
#include <xxh_x86dispatch.h>
#endif

#include <cstdio>
#include <new>

namespace cdb {

uint64_t xxh3_64(const void* data, size_t len) { return XXH3_64bits(data, len); }

Xxh3Stream::Xxh3Stream() : state_(XXH3_createState()) {
  if (!state_) throw std::bad_alloc();
  XXH3_64bits_reset(static_cast<XXH3_state_t*>(state_));
}
Xxh3Stream::~Xxh3Stream() { XXH3_freeState(static_cast<XXH3_state_t*>(state_)); }
void Xxh3Stream::update(const void* data, size_t len) {
  XXH3_64bits_update(static_cast<XXH3_state_t*>(state_), data, len);
}
uint64_t Xxh3Stream::digest() const { return XXH3_64bits_digest(static_cast<const XXH3_state_t*>(state_)); }

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
