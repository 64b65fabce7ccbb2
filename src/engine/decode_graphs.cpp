#include "engine/decode_graphs.h"

#include <ATen/ATen.h>

#include <cstdio>
#include <vector>

#include "engine/decode_attention.h"
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
  bool warmed = false;            // the capture stream has run a step
  std::vector<int64_t> candidate; // last step's shape, not yet recorded
  std::vector<int64_t> key;       // the recorded graph's shape
  std::unique_ptr<at::cuda::CUDAGraph> graph;
  // Everything the graph reads by address must outlive it: its inputs, each
  // shared group's rows, and its output.
  at::Tensor tokens, lengths, positions, logits;
  std::vector<at::Tensor> group_rows;
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

namespace {

// What a recorded step depends on besides its inputs' values: the batch
// size, the pool, and each shared Cartridge's rows and memory (a graph
// holds device addresses; a Cartridge that replaces another at the same
// addresses with the same shape is read correctly).
std::vector<int64_t> shape_key(const DecodeBatch& b, const KVSlots& kv) {
  std::vector<int64_t> k = {b.tokens.size(0), reinterpret_cast<int64_t>(&kv)};
  for (const auto& g : b.shared) {
    const at::Tensor rows = g.rows.to(at::kCPU, at::kLong).contiguous();
    k.push_back(rows.numel());
    k.insert(k.end(), rows.data_ptr<int64_t>(), rows.data_ptr<int64_t>() + rows.numel());
    k.push_back(g.cartridge->tokens());
    for (size_t l = 0; l < g.cartridge->keys.size(); ++l) {
      k.push_back(reinterpret_cast<int64_t>(g.cartridge->keys[l].data_ptr()));
      k.push_back(reinterpret_cast<int64_t>(g.cartridge->values[l].data_ptr()));
    }
  }
  return k;
}

}  // namespace

at::Tensor DecodeGraphs::decode(const DecodeBatch& b, KVSlots& kv) {
  Impl& s = *impl_;
  if (s.enabled && !s.stats.failed && s.checked_pool != &kv) {
    const ModelConfig& c = s.model.config();
    s.checked_pool = &kv;
    s.fused = fused_decode_attention_applies(
        at::empty({1, c.n_kv_heads, c.n_heads / c.n_kv_heads, c.head_dim}, s.model.options()), kv.keys(0),
        kv.values(0));
  }
  if (!s.enabled || s.stats.failed || !s.fused) {
    ++s.stats.eager;
    return s.model.decode(b, kv);
  }
  const at::Device dev = s.model.device();
  const auto longs = at::TensorOptions().device(dev).dtype(at::kLong);
  std::vector<int64_t> k = shape_key(b, kv);
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
  s.group_rows.clear();
  for (const auto& g : b.shared) s.group_rows.push_back(g.rows.to(longs).clone());
  DecodeBatch sb;
  sb.tokens = s.tokens;
  sb.lengths = s.lengths;
  sb.positions = s.positions;
  sb.max_length = kv.capacity() - 1;  // attend over whole rows, masked by length
  for (size_t i = 0; i < b.shared.size(); ++i) sb.shared.push_back({b.shared[i].cartridge, s.group_rows[i]});
  c10::cuda::CUDAStream current = c10::cuda::getCurrentCUDAStream(dev.index());
  c10::cuda::CUDAStream side = c10::cuda::getStreamFromPool(false, dev.index());
  at::cuda::CUDAEvent ready;
  ready.record(current);
  ready.block(side);
  auto graph = std::make_unique<at::cuda::CUDAGraph>();
  try {
    c10::cuda::CUDAStreamGuard guard(side);
    // A first eager step on the capture stream creates what LibTorch makes
    // lazily per stream (cuBLAS workspaces), which a capture must not. It
    // writes the same K/V into the pool as the replay will.
    if (!s.warmed) {
      s.model.decode(sb, kv);
      s.warmed = true;
    }
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
    // Whatever LibTorch cannot record here, eager steps still serve.
    std::fprintf(stderr, "cartridgedb: CUDA graph capture of a decode step failed; decoding eagerly from now: %s\n",
                 e.what());
    s.stats.failed = true;
    s.logits = at::Tensor();
    at::cuda::CUDAEvent done;
    done.record(side);
    done.block(current);
    ++s.stats.eager;
    return s.model.decode(b, kv);
  }
  at::cuda::CUDAEvent done;
  done.record(side);
  done.block(current);
  s.graph = std::move(graph);
  s.key = std::move(s.candidate);
  s.candidate.clear();
  ++s.stats.captures;
  s.graph->replay();
  ++s.stats.replays;
  return s.logits;
}

#endif

}  // namespace cdb
