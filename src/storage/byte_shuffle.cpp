#include "storage/byte_shuffle.h"

#include <bit>
#include <cstdint>
#include <cstring>

#include "common/error.h"

namespace cdb {

// The planes are combined with shifts into whole words, which is only the
// memory layout of the element on a little-endian host.
static_assert(std::endian::native == std::endian::little, "the tensor format assumes a little-endian host");

namespace {

// Plain loops over fixed-width words: GCC vectorizes these (byte
// interleaves), and each streams E inputs and one output sequentially,
// which the hardware prefetcher follows.
template <typename Word>
void unshuffle_words(const uint8_t* __restrict src, uint8_t* __restrict dst, size_t n) {
  constexpr size_t E = sizeof(Word);
  Word* __restrict out = reinterpret_cast<Word*>(dst);
  if constexpr (E == 2) {
    const uint8_t* __restrict p0 = src;
    const uint8_t* __restrict p1 = src + n;
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<Word>(p0[i] | (p1[i] << 8));
  } else if constexpr (E == 4) {
    const uint8_t* __restrict p0 = src;
    const uint8_t* __restrict p1 = src + n;
    const uint8_t* __restrict p2 = src + 2 * n;
    const uint8_t* __restrict p3 = src + 3 * n;
    for (size_t i = 0; i < n; ++i)
      out[i] = static_cast<Word>(p0[i]) | (static_cast<Word>(p1[i]) << 8) | (static_cast<Word>(p2[i]) << 16) |
               (static_cast<Word>(p3[i]) << 24);
  } else {
    static_assert(E == 8);
    for (size_t i = 0; i < n; ++i) {
      Word w = 0;
      for (size_t b = 0; b < 8; ++b) w |= static_cast<Word>(src[b * n + i]) << (8 * b);
      out[i] = w;
    }
  }
}

// Works in blocks so that the E input streams and the output of one block
// stay in L1/L2 together, whatever the chunk size.
constexpr size_t kBlockElems = 4096;

}  // namespace

void byte_shuffle(const void* src, void* dst, size_t n, size_t elem_size) {
  auto* s = static_cast<const uint8_t*>(src);
  auto* d = static_cast<uint8_t*>(dst);
  if (elem_size == 1) {
    std::memcpy(d, s, n);
    return;
  }
  // Block-wise: each block writes its slice of every plane.
  for (size_t start = 0; start < n; start += kBlockElems) {
    size_t len = n - start < kBlockElems ? n - start : kBlockElems;
    const uint8_t* bs = s + start * elem_size;
    for (size_t b = 0; b < elem_size; ++b) {
      uint8_t* __restrict plane = d + b * n + start;
      const uint8_t* __restrict p = bs + b;
      switch (elem_size) {
        case 2: for (size_t i = 0; i < len; ++i) plane[i] = p[i * 2]; break;
        case 4: for (size_t i = 0; i < len; ++i) plane[i] = p[i * 4]; break;
        case 8: for (size_t i = 0; i < len; ++i) plane[i] = p[i * 8]; break;
        default: throw InvalidArgument("byte_shuffle: unsupported element size " + std::to_string(elem_size));
      }
    }
  }
}

void byte_unshuffle(const void* src, void* dst, size_t n, size_t elem_size) {
  auto* s = static_cast<const uint8_t*>(src);
  auto* d = static_cast<uint8_t*>(dst);
  switch (elem_size) {
    case 1: std::memcpy(d, s, n); return;
    case 2: unshuffle_words<uint16_t>(s, d, n); return;
    case 4: unshuffle_words<uint32_t>(s, d, n); return;
    case 8: unshuffle_words<uint64_t>(s, d, n); return;
    default: throw InvalidArgument("byte_unshuffle: unsupported element size " + std::to_string(elem_size));
  }
}

}  // namespace cdb
