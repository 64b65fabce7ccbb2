#include <cuda_runtime.h>

#include "cuda/kernels.h"

namespace cdb::cuda {
namespace {

// One thread per element; each reads its elem_size bytes from the planes.
// Reads within a plane are coalesced (consecutive threads, consecutive
// bytes); the write of ElemSize bytes per thread is a single aligned store
// for the common 2- and 4-byte types.
template <int ElemSize, typename Word>
__global__ void unshuffle_kernel(const unsigned char* __restrict__ src, Word* __restrict__ dst, std::size_t n) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    union {
      Word w;
      unsigned char b[ElemSize];
    } u;
#pragma unroll
    for (int b = 0; b < ElemSize; ++b) u.b[b] = src[b * n + i];
    dst[i] = u.w;
  }
}

template <int ElemSize, typename Word>
int launch(const void* src, void* dst, std::size_t n, cudaStream_t stream) {
  if (n == 0) return 0;
  const int threads = 256;
  const std::size_t want = (n + threads - 1) / threads;
  const int blocks = static_cast<int>(want < 65535 ? want : 65535);
  unshuffle_kernel<ElemSize, Word><<<blocks, threads, 0, stream>>>(static_cast<const unsigned char*>(src),
                                                                   static_cast<Word*>(dst), n);
  return static_cast<int>(cudaGetLastError());
}

}  // namespace

int byte_unshuffle(const void* src, void* dst, std::size_t n_elems, int elem_size, void* stream) {
  auto s = static_cast<cudaStream_t>(stream);
  switch (elem_size) {
    case 1:
      return static_cast<int>(cudaMemcpyAsync(dst, src, n_elems, cudaMemcpyDeviceToDevice, s));
    case 2:
      return launch<2, unsigned short>(src, dst, n_elems, s);
    case 4:
      return launch<4, unsigned int>(src, dst, n_elems, s);
    case 8:
      return launch<8, unsigned long long>(src, dst, n_elems, s);
    default:
      return static_cast<int>(cudaErrorInvalidValue);
  }
}

bool device_available() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device" error
    return false;
  }
  return n > 0;
}

}  // namespace cdb::cuda
