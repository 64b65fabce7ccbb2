// Host-side launchers for the CUDA kernels in this folder. Plain C++ types
// only, so this header is includable from any translation unit and the .cu
// files never see LibTorch. Each launcher enqueues on `stream` (a
// cudaStream_t passed as void*) and returns the cudaError_t as an int
// (0 = success); the caller turns a failure into a typed error.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cdb::cuda {

// Inverse of the storage codec's byte-shuffle filter, on the device:
// `src` holds elem_size planes of n_elems bytes each (plane b holds byte b of
// every element); `dst` receives n_elems contiguous elements. Used to
// unshuffle decompressed Cartridge chunks after the host-to-device copy, so
// the host only decompresses and the PCIe copy overlaps the next chunk.
int byte_unshuffle(const void* src, void* dst, std::size_t n_elems, int elem_size, void* stream);

// Whether a CUDA device is present (false on CPU-only machines, without error).
bool device_available();

}  // namespace cdb::cuda
