// A pool of per-sequence KV memory for continuous batching: `slots` rows of
// `capacity` tokens each, per layer K and V [slots, n_kv, capacity, hd],
// allocated once, so admission is a matter of a free row and the process
// never allocates KV while serving. The scheduler keeps its running
// sequences in rows 0..N-1 (compacting with move() when one finishes), so a
// decode step reads the batch's KV as one strided view, without a gather.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/TensorOptions.h>

#include <vector>

#include "engine/kv_cache.h"
#include "engine/model_config.h"

namespace cdb {

struct Cartridge;

class KVSlots {
 public:
  KVSlots(const ModelConfig& config, int64_t slots, int64_t capacity, at::TensorOptions options);

  // Bytes one slot takes (K and V, every layer).
  static int64_t slot_bytes(const ModelConfig& config, int64_t capacity, at::ScalarType dtype);

  int64_t slots() const { return slots_; }
  int64_t capacity() const { return capacity_; }
  int64_t layers() const { return static_cast<int64_t>(keys_.size()); }
  at::Tensor& keys(int64_t layer) { return keys_[static_cast<size_t>(layer)]; }
  at::Tensor& values(int64_t layer) { return values_[static_cast<size_t>(layer)]; }
  const at::Tensor& keys(int64_t layer) const { return keys_[static_cast<size_t>(layer)]; }
  const at::Tensor& values(int64_t layer) const { return values_[static_cast<size_t>(layer)]; }

  // A one-sequence cache over row `slot` holding `length` tokens: prefill
  // appends into the pool through it.
  KVCache cache(int64_t slot, int64_t length);
  // Writes a Cartridge's tokens at the start of row `slot` (a prefix private
  // to that sequence). Returns its token count.
  int64_t write_prefix(int64_t slot, const Cartridge& prefix);
  // Copies the first `length` tokens of row `from` to row `to`.
  void move(int64_t from, int64_t to, int64_t length);

 private:
  int64_t slots_, capacity_;
  std::vector<at::Tensor> keys_, values_;
};

}  // namespace cdb
