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
// which the hardware prefetcher follows. Cloned for AVX2 (picked at load
// time): twice the bytes per instruction on the read path's hottest loop
// after zstd, while the default clone keeps the binary portable.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CDB_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define CDB_VECTOR_CLONES
#endif

template <typename Word>
CDB_VECTOR_CLONES void unshuffle_words(const uint8_t* const* planes, uint8_t* dst, size_t n) {
  constexpr size_t E = sizeof(Word);
  Word* __restrict out = reinterpret_cast<Word*>(dst);
  if constexpr (E == 2) {
    const uint8_t* __restrict p0 = planes[0];
    const uint8_t* __restrict p1 = planes[1];
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<Word>(p0[i] | (p1[i] << 8));
  } else if constexpr (E == 4) {
    const uint8_t* __restrict p0 = planes[0];
    const uint8_t* __restrict p1 = planes[1];
    const uint8_t* __restrict p2 = planes[2];
    const uint8_t* __restrict p3 = planes[3];
    for (size_t i = 0; i < n; ++i)
      out[i] = static_cast<Word>(p0[i]) | (static_cast<Word>(p1[i]) << 8) | (static_cast<Word>(p2[i]) << 16) |
               (static_cast<Word>(p3[i]) << 24);
  } else {
    static_assert(E == 8);
    for (size_t i = 0; i < n; ++i) {
      Word w = 0;
      for (size_t b = 0; b < 8; ++b) w |= static_cast<Word>(planes[b][i]) << (8 * b);
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
    if (n > 0) std::memcpy(d, s, n);  // empty tensors may have null buffers
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
  if (elem_size == 0 || elem_size > 8) byte_unshuffle_planes(nullptr, dst, n, elem_size);  // throws
  const uint8_t* planes[8];
  for (size_t b = 0; b < elem_size; ++b) planes[b] = s + b * n;
  byte_unshuffle_planes(planes, dst, n, elem_size);
}

void byte_unshuffle_planes(const uint8_t* const* planes, void* dst, size_t n, size_t elem_size) {
  auto* d = static_cast<uint8_t*>(dst);
  switch (elem_size) {
    case 1:
      if (n > 0) std::memcpy(d, planes[0], n);  // empty tensors may have null buffers
      return;
    case 2: unshuffle_words<uint16_t>(planes, d, n); return;
    case 4: unshuffle_words<uint32_t>(planes, d, n); return;
    case 8: unshuffle_words<uint64_t>(planes, d, n); return;
    default: throw InvalidArgument("byte_unshuffle: unsupported element size " + std::to_string(elem_size));
  }
}

}  // namespace cdb
