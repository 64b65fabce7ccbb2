#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "cuda/kernels.h"

namespace cdb::cuda {
namespace {

constexpr int kThreads = 128;
// Keys a team loads per trip: 2 * kUnroll 16-byte loads (K and V) a thread,
// issued a trip ahead of their use. By default 4 for up to 2 groups, and for
// long splits (ICL's 128k tokens in 10 splits: 3.39 TB/s against 2.89 with
// 2, on an H200); else 2, since from 3 groups their state takes the
// registers (at 2208 keys: 3.98 TB/s for 3 groups either way, 2.68 against
// 2.51 TB/s for 4).
constexpr int default_unroll(int groups, int keys_per_split) {
  return groups <= 2 || keys_per_split >= 4096 ? 4 : 2;
}
// Registers allow 4 blocks a multiprocessor without spilling up to here.
constexpr int min_blocks(int groups, int unroll) { return groups <= 2 || (groups <= 4 && unroll == 2) ? 4 : 1; }

// 16 bytes of T, the unit a thread loads, as floats.
template <typename T>
struct Pack;
template <>
struct Pack<float> {
  static constexpr int kElems = 4;
  __device__ static void to_float(const uint4& u, float* f) {
    f[0] = __uint_as_float(u.x), f[1] = __uint_as_float(u.y), f[2] = __uint_as_float(u.z), f[3] = __uint_as_float(u.w);
  }
};
template <>
struct Pack<__nv_bfloat16> {
  static constexpr int kElems = 8;
  __device__ static void to_float(const uint4& u, float* f) {
    const __nv_bfloat162* h = reinterpret_cast<const __nv_bfloat162*>(&u);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const float2 x = __bfloat1622float2(h[i]);
      f[2 * i] = x.x, f[2 * i + 1] = x.y;
    }
  }
};
template <>
struct Pack<__half> {
  static constexpr int kElems = 8;
  __device__ static void to_float(const uint4& u, float* f) {
    const __half2* h = reinterpret_cast<const __half2*>(&u);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const float2 x = __half22float2(h[i]);
      f[2 * i] = x.x, f[2 * i + 1] = x.y;
    }
  }
};

// One block per (split of the keys, KV head, row). The block's threads form
// teams of kLanes threads; a team holds one key row (head_dim elements, 16
// bytes a thread) and walks the split's keys with stride kTeams, keeping a
// running max, sum and weighted V sum for each of the head's kGroups queries
// (online softmax). The teams' states are then merged through shared memory
// into the split's output and log-sum-exp, which the caller merges across
// splits (and with any other key set, such as a shared Cartridge).
//
// The loads of the next trip's keys are issued before the current ones are
// used, so a thread always has memory requests in flight: with 4 blocks a
// multiprocessor (the registers allow no more) that is what hides HBM's
// latency.
//
// Every thread of a block runs the same number of loop trips (the bounds
// depend on the block only), so the warp shuffles see full warps.
template <typename T, int kHeadDim, int kGroups, int kUnroll>
__global__ void __launch_bounds__(kThreads, min_blocks(kGroups, kUnroll))
    decode_attention_kernel(DecodeAttentionArgs a) {
  constexpr int kElems = Pack<T>::kElems;
  constexpr int kLanes = kHeadDim / kElems;
  constexpr int kTeams = kThreads / kLanes;
  constexpr int kStep = kTeams * kUnroll;
  static_assert(kHeadDim % kElems == 0 && kLanes <= 32 && 32 % kLanes == 0, "a key row must fit a warp");
  __shared__ float sm_max[kTeams][kGroups], sm_sum[kTeams][kGroups];
  __shared__ float sm_acc[kTeams][kGroups][kHeadDim];

  const int split = blockIdx.x, head = blockIdx.y, row = blockIdx.z;
  const int team = threadIdx.x / kLanes, lane = threadIdx.x % kLanes;
  const long long visible = a.lengths[row] + 1;
  const long long begin = static_cast<long long>(split) * a.keys_per_split;
  const long long end = min(begin + static_cast<long long>(a.keys_per_split), visible);

  float q[kGroups][kElems];
  const T* qp = static_cast<const T*>(a.q) + (static_cast<long long>(row) * a.kv_heads + head) * kGroups * kHeadDim +
                lane * kElems;
#pragma unroll
  for (int g = 0; g < kGroups; ++g) Pack<T>::to_float(*reinterpret_cast<const uint4*>(qp + g * kHeadDim), q[g]);
  float run_max[kGroups], run_sum[kGroups], acc[kGroups][kElems];
#pragma unroll
  for (int g = 0; g < kGroups; ++g) {
    run_max[g] = -INFINITY, run_sum[g] = 0.f;
#pragma unroll
    for (int e = 0; e < kElems; ++e) acc[g][e] = 0.f;
  }
  const T* kp = static_cast<const T*>(a.k) + row * a.k_row + head * a.k_head + lane * kElems;
  const T* vp = static_cast<const T*>(a.v) + row * a.v_row + head * a.v_head + lane * kElems;
  // This team's keys k0 + u * kTeams + team, u < kUnroll; zeros past `end`.
  auto load = [&](long long k0, uint4 (&kr)[kUnroll], uint4 (&vr)[kUnroll]) {
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const long long idx = k0 + u * kTeams + team;
      if (idx < end) {
        kr[u] = *reinterpret_cast<const uint4*>(kp + idx * a.k_token);
        vr[u] = *reinterpret_cast<const uint4*>(vp + idx * a.v_token);
      } else {
        kr[u] = make_uint4(0, 0, 0, 0), vr[u] = make_uint4(0, 0, 0, 0);
      }
    }
  };

  uint4 kcur[kUnroll], vcur[kUnroll];
  load(begin, kcur, vcur);
  for (long long k0 = begin; k0 < end; k0 += kStep) {
    uint4 knext[kUnroll], vnext[kUnroll];
    load(k0 + kStep, knext, vnext);
    float s[kUnroll][kGroups];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      float kf[kElems];
      Pack<T>::to_float(kcur[u], kf);
      const bool ok = k0 + u * kTeams + team < end;
#pragma unroll
      for (int g = 0; g < kGroups; ++g) {
        float d = 0.f;
#pragma unroll
        for (int e = 0; e < kElems; ++e) d = fmaf(q[g][e], kf[e], d);
        // Sum over the team's lanes (aligned groups of kLanes in the warp).
#pragma unroll
        for (int off = kLanes / 2; off > 0; off /= 2) d += __shfl_xor_sync(0xffffffffu, d, off);
        s[u][g] = ok ? d : -INFINITY;
      }
    }
    // Rescale the running state to the new max, and turn scores into
    // weights (0 for keys past the end, and while no key was visible).
#pragma unroll
    for (int g = 0; g < kGroups; ++g) {
      float m = run_max[g];
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) m = fmaxf(m, s[u][g]);
      const float base = m == -INFINITY ? 0.f : m;
      const float rescale = __expf(run_max[g] - base);
      run_max[g] = m;
      run_sum[g] *= rescale;
#pragma unroll
      for (int e = 0; e < kElems; ++e) acc[g][e] *= rescale;
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        s[u][g] = __expf(s[u][g] - base);
        run_sum[g] += s[u][g];
      }
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      float vf[kElems];
      Pack<T>::to_float(vcur[u], vf);
#pragma unroll
      for (int g = 0; g < kGroups; ++g)
#pragma unroll
        for (int e = 0; e < kElems; ++e) acc[g][e] = fmaf(s[u][g], vf[e], acc[g][e]);
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) kcur[u] = knext[u], vcur[u] = vnext[u];
  }

#pragma unroll
  for (int g = 0; g < kGroups; ++g) {
    if (lane == 0) sm_max[team][g] = run_max[g], sm_sum[team][g] = run_sum[g];
#pragma unroll
    for (int e = 0; e < kElems; ++e) sm_acc[team][g][lane * kElems + e] = acc[g][e];
  }
  __syncthreads();
  for (int i = threadIdx.x; i < kGroups * kHeadDim; i += kThreads) {
    const int g = i / kHeadDim, d = i % kHeadDim;
    float m = -INFINITY;
    for (int t = 0; t < kTeams; ++t) m = fmaxf(m, sm_max[t][g]);
    float sum = 0.f, o = 0.f;
    if (m != -INFINITY)
      for (int t = 0; t < kTeams; ++t) {
        const float w = __expf(sm_max[t][g] - m);  // 0 for a team that saw no key
        sum += sm_sum[t][g] * w;
        o += sm_acc[t][g][d] * w;
      }
    const long long at = ((static_cast<long long>(split) * gridDim.z + row) * a.kv_heads + head) * kGroups + g;
    a.out[at * kHeadDim + d] = sum > 0.f ? o / sum : 0.f;
    if (d == 0) a.lse[at] = sum > 0.f ? m + logf(sum) : -INFINITY;
  }
}

template <typename T, int kHeadDim, int kGroups>
int launch(const DecodeAttentionArgs& a, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>(a.splits), static_cast<unsigned>(a.kv_heads), static_cast<unsigned>(a.rows));
  const int unroll = a.unroll > 0 ? a.unroll : default_unroll(kGroups, a.keys_per_split);
  if (unroll == 2) decode_attention_kernel<T, kHeadDim, kGroups, 2><<<grid, kThreads, 0, stream>>>(a);
  else decode_attention_kernel<T, kHeadDim, kGroups, 4><<<grid, kThreads, 0, stream>>>(a);
  return static_cast<int>(cudaGetLastError());
}

// One instantiation per group count: a padded group would cost its share of
// the products and shuffles (a third more for Llama 3.2 3B's 3 groups).
template <typename T, int kHeadDim>
int launch_groups(const DecodeAttentionArgs& a, cudaStream_t stream) {
  switch (a.groups) {
    case 1: return launch<T, kHeadDim, 1>(a, stream);
    case 2: return launch<T, kHeadDim, 2>(a, stream);
    case 3: return launch<T, kHeadDim, 3>(a, stream);
    case 4: return launch<T, kHeadDim, 4>(a, stream);
    case 5: return launch<T, kHeadDim, 5>(a, stream);
    case 6: return launch<T, kHeadDim, 6>(a, stream);
    case 7: return launch<T, kHeadDim, 7>(a, stream);
    case 8: return launch<T, kHeadDim, 8>(a, stream);
  }
  return static_cast<int>(cudaErrorInvalidValue);
}

template <typename T>
int launch_head_dim(const DecodeAttentionArgs& a, cudaStream_t stream) {
  return a.head_dim == 64 ? launch_groups<T, 64>(a, stream) : launch_groups<T, 128>(a, stream);
}

}  // namespace

bool decode_attention_supports(ElementType type, int head_dim, int groups) {
  (void)type;  // every ElementType is instantiated
  return (head_dim == 64 || head_dim == 128) && groups >= 1 && groups <= 8;
}

int decode_attention(const DecodeAttentionArgs& a, void* stream) {
  if (!decode_attention_supports(a.type, a.head_dim, a.groups) || (a.unroll != 0 && a.unroll != 2 && a.unroll != 4) ||
      a.rows <= 0 || a.splits <= 0 ||
      a.keys_per_split <= 0 || a.rows > 65535 || a.kv_heads > 65535)
    return static_cast<int>(cudaErrorInvalidValue);
  auto s = static_cast<cudaStream_t>(stream);
  switch (a.type) {
    case ElementType::kFloat32:
      return launch_head_dim<float>(a, s);
    case ElementType::kBFloat16:
      return launch_head_dim<__nv_bfloat16>(a, s);
    case ElementType::kFloat16:
      return launch_head_dim<__half>(a, s);
  }
  return static_cast<int>(cudaErrorInvalidValue);
}

const char* error_string(int code) { return cudaGetErrorString(static_cast<cudaError_t>(code)); }

}  // namespace cdb::cuda
