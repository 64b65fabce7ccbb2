// The byte-shuffle filter: n elements of elem_size bytes <-> elem_size
// planes of n bytes, plane b holding byte b of every element. Floats keep
// their sign and exponent in one byte, so grouping those bytes makes them
// compress well (the Blosc shuffle filter). src and dst must not overlap.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cdb {

void byte_shuffle(const void* src, void* dst, size_t n_elems, size_t elem_size);
void byte_unshuffle(const void* src, void* dst, size_t n_elems, size_t elem_size);
// As byte_unshuffle with each plane at its own address (planes[b] holds
// n_elems bytes), so that a reader can interleave planes that stayed raw
// straight from the stored blob next to planes decompressed into scratch.
void byte_unshuffle_planes(const uint8_t* const* planes, void* dst, size_t n_elems, size_t elem_size);

}  // namespace cdb
