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

// Element types of the tensors a kernel reads.
enum class ElementType { kFloat32, kBFloat16, kFloat16 };

// Attention of one decode step over each row's own keys (FlashDecoding:
// the keys are split into chunks attended in parallel, so a batch of one
// still fills the device). Row r's query heads are grouped by KV head
// (GQA): q is [rows, kv_heads, groups, head_dim], contiguous and already
// scaled by 1/sqrt(head_dim). K and V are read in place from a pool laid out
// [slot, kv_head, token, head_dim] (strides in elements, head_dim
// contiguous); row r sees its tokens 0..lengths[r] (int64, on the device).
// Writes, per split s, the normalized output out[s, r, h, g, :] (fp32) and
// the log-sum-exp lse[s, r, h, g] of that split's scores (-inf and a zero
// output for a split with no visible key). The caller merges the splits.
struct DecodeAttentionArgs {
  ElementType type = ElementType::kFloat32;
  const void* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  long long k_row = 0, k_head = 0, k_token = 0;
  long long v_row = 0, v_head = 0, v_token = 0;
  const long long* lengths = nullptr;
  int rows = 0, kv_heads = 0, groups = 0, head_dim = 0;
  int splits = 1, keys_per_split = 0;
  int unroll = 0;  // keys a team loads per trip: 2 or 4, 0 = chosen by group count and split length
  float* out = nullptr;
  float* lse = nullptr;
};
// Whether decode_attention has a kernel for this shape.
bool decode_attention_supports(ElementType type, int head_dim, int groups);
int decode_attention(const DecodeAttentionArgs& args, void* stream);

// cudaGetErrorString of a launcher's return code.
const char* error_string(int code);

// Whether a CUDA device is present (false on CPU-only machines, without error).
bool device_available();

}  // namespace cdb::cuda
