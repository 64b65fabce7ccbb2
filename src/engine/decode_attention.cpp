#include "engine/decode_attention.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <limits>
#include <string>

#include "common/error.h"

#ifdef CDB_WITH_CUDA_KERNELS
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAStream.h>

#include "cuda/kernels.h"
#endif

namespace cdb {

AttentionPartial attend_part(const at::Tensor& q, const at::Tensor& K, const at::Tensor& V, const at::Tensor& mask) {
  at::Tensor scores = at::matmul(q, K.transpose(-1, -2)).to(at::kFloat);
  if (mask.defined()) scores = scores.masked_fill(mask.logical_not(), -std::numeric_limits<float>::infinity());
  at::Tensor lse = at::logsumexp(scores, -1, /*keepdim=*/true);
  at::Tensor p = at::exp(scores - lse);
  return {at::matmul(p.to(V.scalar_type()), V).to(at::kFloat), lse.squeeze(-1)};
}

at::Tensor merge_parts(const AttentionPartial& a, const AttentionPartial& b) {
  at::Tensor m = at::maximum(a.lse, b.lse);
  at::Tensor wa = at::exp(a.lse - m).unsqueeze(-1), wb = at::exp(b.lse - m).unsqueeze(-1);
  return (a.out * wa + b.out * wb) / (wa + wb);
}

namespace {

AttentionPartial attend_own_matmul(const at::Tensor& q, const at::Tensor& K, const at::Tensor& V,
                                   const at::Tensor& lengths, int64_t keys) {
  const int64_t N = q.size(0);
  const at::Tensor visible =
      (at::arange(keys, lengths.options()).view({1, keys}) <= lengths.view({N, 1})).view({N, 1, 1, keys});
  return attend_part(q, K.narrow(0, 0, N).narrow(2, 0, keys), V.narrow(0, 0, N).narrow(2, 0, keys), visible);
}

#ifdef CDB_WITH_CUDA_KERNELS
bool element_type(at::ScalarType t, cuda::ElementType* out) {
  switch (t) {
    case at::kFloat: *out = cuda::ElementType::kFloat32; return true;
    case at::kBFloat16: *out = cuda::ElementType::kBFloat16; return true;
    case at::kHalf: *out = cuda::ElementType::kFloat16; return true;
    default: return false;
  }
}

// The kernel reads 16 bytes per thread: every row, head and token must start
// on a 16-byte boundary.
bool aligned_rows(const at::Tensor& t) {
  const int64_t vec = 16 / static_cast<int64_t>(t.element_size());
  return t.stride(3) == 1 && t.stride(0) % vec == 0 && t.stride(1) % vec == 0 && t.stride(2) % vec == 0 &&
         reinterpret_cast<uintptr_t>(t.data_ptr()) % 16 == 0;
}

AttentionPartial attend_own_fused(const at::Tensor& q_in, const at::Tensor& K, const at::Tensor& V,
                                  const at::Tensor& lengths_in, int64_t keys, int unroll) {
  const int64_t N = q_in.size(0), KV = q_in.size(1), G = q_in.size(2), hd = q_in.size(3);
  const at::Tensor q = q_in.contiguous();
  const at::Tensor lengths = lengths_in.to(q.device(), at::kLong).contiguous();
  // FlashDecoding's split: enough blocks for every multiprocessor to hold
  // several, but no split shorter than 256 keys (each split's output is
  // written and merged, which costs more than short splits save).
  const int64_t blocks = N * KV;
  // (Properties cached by LibTorch: no driver call, so a CUDA graph can record this.)
  const int64_t sms = std::max(1, at::cuda::getDeviceProperties(q.device().index())->multiProcessorCount);
  int64_t splits = std::clamp<int64_t>((4 * sms + blocks - 1) / blocks, 1, (keys + 255) / 256);
  const int64_t per_split = (keys + splits - 1) / splits;
  splits = (keys + per_split - 1) / per_split;
  const auto f32 = q.options().dtype(at::kFloat);
  at::Tensor out = at::empty({splits, N, KV, G, hd}, f32), lse = at::empty({splits, N, KV, G}, f32);

  cuda::DecodeAttentionArgs a;
  element_type(q.scalar_type(), &a.type);
  a.q = q.data_ptr(), a.k = K.data_ptr(), a.v = V.data_ptr();
  a.k_row = K.stride(0), a.k_head = K.stride(1), a.k_token = K.stride(2);
  a.v_row = V.stride(0), a.v_head = V.stride(1), a.v_token = V.stride(2);
  a.lengths = reinterpret_cast<const long long*>(lengths.data_ptr<int64_t>());
  a.rows = static_cast<int>(N), a.kv_heads = static_cast<int>(KV), a.groups = static_cast<int>(G);
  a.head_dim = static_cast<int>(hd), a.splits = static_cast<int>(splits);
  a.keys_per_split = static_cast<int>(per_split);
  a.unroll = unroll;
  a.out = out.data_ptr<float>(), a.lse = lse.data_ptr<float>();
  const int rc = cuda::decode_attention(a, c10::cuda::getCurrentCUDAStream(q.device().index()).stream());
  if (rc != 0) throw Error(std::string("decode attention kernel: ") + cuda::error_string(rc));
  if (splits == 1) return {out[0], lse[0]};
  at::Tensor total = at::logsumexp(lse, 0);  // finite: split 0 holds token 0, always visible
  return {(out * at::exp(lse - total).unsqueeze(-1)).sum(0), total};
}
#endif

}  // namespace

bool fused_decode_attention_applies(const at::Tensor& q, const at::Tensor& K, const at::Tensor& V) {
#ifdef CDB_WITH_CUDA_KERNELS
  cuda::ElementType type;
  return q.is_cuda() && K.device() == q.device() && V.device() == q.device() && q.dim() == 4 && K.dim() == 4 &&
         V.dim() == 4 && K.scalar_type() == q.scalar_type() && V.scalar_type() == q.scalar_type() &&
         element_type(q.scalar_type(), &type) &&
         cuda::decode_attention_supports(type, static_cast<int>(q.size(3)), static_cast<int>(q.size(2))) &&
         q.size(0) <= 65535 && K.size(2) <= std::numeric_limits<int>::max() && aligned_rows(K) && aligned_rows(V);
#else
  (void)q, (void)K, (void)V;
  return false;
#endif
}

AttentionPartial attend_own_tokens(const at::Tensor& q, const at::Tensor& K, const at::Tensor& V,
                                   const at::Tensor& lengths, int64_t keys, DecodeAttention how, int unroll) {
  if (q.dim() != 4 || K.dim() != 4 || V.sizes() != K.sizes() || K.size(0) < q.size(0) || K.size(1) != q.size(1) ||
      K.size(3) != q.size(3) || keys < 1 || keys > K.size(2) || lengths.numel() != q.size(0) ||
      (unroll != 0 && unroll != 2 && unroll != 4))
    throw InvalidArgument("attend_own_tokens: q " + c10::str(q.sizes()) + ", K " + c10::str(K.sizes()) + ", V " +
                          c10::str(V.sizes()) + ", " + std::to_string(lengths.numel()) + " lengths, " +
                          std::to_string(keys) + " keys do not match");
#ifdef CDB_WITH_CUDA_KERNELS
  if (how == DecodeAttention::kAuto && fused_decode_attention_applies(q, K, V))
    return attend_own_fused(q, K, V, lengths, keys, unroll);
#else
  (void)how, (void)unroll;
#endif
  return attend_own_matmul(q, K, V, lengths.to(q.device(), at::kLong), keys);
}

}  // namespace cdb
