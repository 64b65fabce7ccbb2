#include "engine/decode_graphs.h"

#include <ATen/ATen.h>

#include <cstdio>
#include <string>
#include <vector>

#include "engine/kv_slots.h"
#include "engine/transformer.h"

#ifdef CDB_WITH_CUDA
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace cdb {

struct DecodeGraphs::Impl {
  Transformer& model;
  bool enabled;
  Stats stats;
#ifdef CDB_WITH_CUDA
  const KVSlots* checked_pool = nullptr;  // the pool `fused` was answered for
  bool fused = false;
  std::vector<int64_t> candidate; // last step's shape, not yet recorded
  std::vector<int64_t> key;       // the recorded graph's shape
  std::unique_ptr<at::cuda::CUDAGraph> graph;
  // Everything the graph reads by address must outlive it: its inputs and
  // its output (and the pool and the weights, which do).
  at::Tensor tokens, lengths, positions, logits;
#endif
};

DecodeGraphs::DecodeGraphs(Transformer& model, bool enabled)
    : impl_(std::make_unique<Impl>(Impl{model, enabled && model.device().is_cuda(), {}})) {}

DecodeGraphs::~DecodeGraphs() = default;

DecodeGraphs::Stats DecodeGraphs::stats() const { return impl_->stats; }

#ifndef CDB_WITH_CUDA

at::Tensor DecodeGraphs::decode(const DecodeBatch& batch, KVSlots& kv) {
  ++impl_->stats.eager;
  return impl_->model.decode(batch, kv);
}

#else

at::Tensor DecodeGraphs::decode(const DecodeBatch& b, KVSlots& kv) {
  Impl& s = *impl_;
  if (s.enabled && !s.stats.failed && s.checked_pool != &kv) {
    s.checked_pool = &kv;
    s.fused = s.model.decode_uses_fused_attention(kv);
  }
  // Batches with a shared Cartridge run eagerly: their graph would read the
  // Cartridge and the group's rows by address, which outlive a batch's shape
  // only as long as its requests do.
  if (!s.enabled || s.stats.failed || !s.fused || !b.shared.empty()) {
    ++s.stats.eager;
    return s.model.decode(b, kv);
  }
  const at::Device dev = s.model.device();
  const auto longs = at::TensorOptions().device(dev).dtype(at::kLong);
  // What a recorded step depends on besides its inputs' values.
  std::vector<int64_t> k = {b.tokens.size(0), reinterpret_cast<int64_t>(&kv)};
  if (s.graph && k == s.key) {
    s.tokens.copy_(b.tokens.to(at::kLong), /*non_blocking=*/true);
    s.lengths.copy_(b.lengths.to(at::kLong), /*non_blocking=*/true);
    s.positions.copy_(b.positions.to(at::kLong), /*non_blocking=*/true);
    s.graph->replay();
    ++s.stats.replays;
    return s.logits;
  }
  if (k != s.candidate) {  // a new shape: run it; record it if it comes again
    s.candidate = std::move(k);
    ++s.stats.eager;
    return s.model.decode(b, kv);
  }

  // The same shape twice in a row: record it. Capture needs a stream other
  // than the default one; the step's work is ordered after what the current
  // stream has queued (prefill into the pool, say) by an event, and the
  // replay runs on the current stream.
  s.graph.reset();
  s.key.clear();
  s.logits = at::Tensor();
  s.tokens = b.tokens.to(longs).clone();
  s.lengths = b.lengths.to(longs).clone();
  s.positions = b.positions.to(longs).clone();
  DecodeBatch sb;
  sb.tokens = s.tokens;
  sb.lengths = s.lengths;
  sb.positions = s.positions;
  sb.max_length = kv.capacity() - 1;  // attend over whole rows, masked by length
  c10::cuda::CUDAStream current = c10::cuda::getCurrentCUDAStream(dev.index());
  c10::cuda::CUDAStream side = c10::cuda::getStreamFromPool(false, dev.index());
  at::cuda::CUDAEvent ready;
  ready.record(current);
  ready.block(side);
  auto graph = std::make_unique<at::cuda::CUDAGraph>();
  at::Tensor eager;
  std::string why;
  try {
    c10::cuda::CUDAStreamGuard guard(side);
    // The step eagerly first, on the capture stream: it creates what
    // LibTorch makes lazily per stream (cuBLAS workspaces), which a capture
    // must not, and its logits check the graph's. It writes the same K/V
    // into the pool as the replay will.
    eager = s.model.decode(sb, kv);
    graph->capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
    try {
      s.logits = s.model.decode(sb, kv);
    } catch (...) {
      try {
        graph->capture_end();
      } catch (...) {
      }
      throw;
    }
    graph->capture_end();
  } catch (const std::exception& e) {
    why = e.what();
  }
  at::cuda::CUDAEvent done;
  done.record(side);
  done.block(current);
  if (why.empty()) {
    graph->replay();
    // A graph that reads anything but what the eager step read shows here
    // (one device sync a recorded shape).
    const double diff = (s.logits - eager).abs().max().item<double>();
    const double scale = eager.abs().max().item<double>();
    if (!(diff <= 1e-2 * (1.0 + scale)))
      why = "its logits differ from the eager step's by " + std::to_string(diff) + " (largest logit " +
            std::to_string(scale) + ")";
  }
  ++s.stats.captures;
  if (!why.empty()) {
    // Whatever LibTorch cannot record here, eager steps still serve.
    std::fprintf(stderr, "cartridgedb: CUDA graph of a decode step unusable, decoding eagerly from now: %s\n",
                 why.c_str());
    s.stats.failed = true;
    s.logits = at::Tensor();
    ++s.stats.eager;
    if (!eager.defined()) return s.model.decode(b, kv);
    return eager;  // this step's logits (the pool holds its K/V)
  }
  s.graph = std::move(graph);
  s.key = std::move(s.candidate);
  s.candidate.clear();
  ++s.stats.replays;
  return s.logits;
}

#endif

}  // namespace cdb
