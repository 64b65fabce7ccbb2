// Decode steps replayed as CUDA graphs. One step of a 32-layer model makes
// about 1,400 LibTorch launches; at batch 64 the CPU takes longer to issue
// them than the GPU takes to run them, so the GPU waits. A graph issues the
// whole step at once.
//
// A graph is recorded for a batch's shape (its size and the pool) the second
// step in a row that shape is seen, and replayed for as long as it lasts: a
// running batch keeps its shape until a request joins or leaves. Each replay
// copies the step's tokens, lengths and positions into the graph's own input
// tensors. The graph attends over every slot of the pool's rows, masked by
// length on the device, so the growing lengths do not change it. Recording
// runs the step eagerly too, and keeps the graph only if its first replay
// gives the same logits. Elsewhere (a CPU model, a build without CUDA, a
// shape the fused attention kernel does not serve, a batch with a shared
// Cartridge) steps run as Transformer::decode.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>

namespace cdb {

class KVSlots;
class Transformer;
struct DecodeBatch;

class DecodeGraphs {
 public:
  explicit DecodeGraphs(Transformer& model, bool enabled = true);
  ~DecodeGraphs();
  DecodeGraphs(const DecodeGraphs&) = delete;
  DecodeGraphs& operator=(const DecodeGraphs&) = delete;

  // As model.decode(batch, kv). The returned logits may be the graph's own
  // output tensor, overwritten by the next step: read them before it.
  at::Tensor decode(const DecodeBatch& batch, KVSlots& kv);

  struct Stats {
    int64_t eager = 0, captures = 0, replays = 0;
    bool failed = false;  // a recording failed or disagreed; every later step runs eagerly
  };
  Stats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cdb
