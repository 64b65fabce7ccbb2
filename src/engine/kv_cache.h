// The per-sequence KV cache of a batch of B sequences, preallocated to a
// capacity so that decoding appends in place. It holds only the sequences'
// own tokens: a shared Cartridge prefix is passed to every forward call and
// never copied in here.
//
// Sequences of different prompt lengths are left-padded: row b's first
// padding(b) slots hold no token. They are masked out as keys and do not
// count towards that row's positions, so row b's token i sits at position
// prefix + i whatever the padding.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/TensorOptions.h>

#include <vector>

#include "engine/model_config.h"

namespace cdb {

struct Cartridge;

class KVCache {
 public:
  KVCache(const ModelConfig& config, int64_t batch, int64_t capacity, at::TensorOptions options);
  // A cache over memory it does not own: per layer K, V [B, n_kv, capacity,
  // hd] (views into a larger pool, say), already holding `length` tokens.
  // Appends write through into that memory.
  static KVCache over(std::vector<at::Tensor> keys, std::vector<at::Tensor> values, int64_t length);

  int64_t length() const { return length_; }  // slots filled, padding included
  int64_t capacity() const { return capacity_; }
  int64_t batch() const { return batch_; }
  int64_t layers() const { return static_cast<int64_t>(keys_.size()); }

  // Forget the contents (keeps the memory).
  void clear();

  // Left padding per row, int64 [B] on any device; only before the first
  // forward (length() == 0). Undefined tensor: no padding.
  void set_padding(const at::Tensor& padding);
  const at::Tensor& padding() const { return padding_; }

  // Per layer K, V [B, n_kv, capacity, hd] (post-RoPE keys).
  const at::Tensor& keys(int64_t layer) const { return keys_.at(static_cast<size_t>(layer)); }
  const at::Tensor& values(int64_t layer) const { return values_.at(static_cast<size_t>(layer)); }

  // Writes k, v [B, n_kv, T, hd] at slots length()..length()+T-1 of `layer`
  // and returns the filled part [B, n_kv, length()+T, hd] of K and V. The
  // forward pass calls this for every layer, then advance(T).
  std::pair<at::Tensor, at::Tensor> append(int64_t layer, const at::Tensor& k, const at::Tensor& v);
  void advance(int64_t t);

  // Keeps only the given rows (int64 indices), e.g. to drop finished
  // sequences from a batch. Copies the kept rows once.
  void select_rows(const at::Tensor& rows);

  // Row `row`'s tokens (padding dropped) as a Cartridge [n_kv, n, hd] per
  // layer; a copy, so that it outlives the cache.
  Cartridge to_cartridge(int64_t row = 0) const;

 private:
  KVCache() = default;

  int64_t batch_ = 0, capacity_ = 0, length_ = 0;
  std::vector<at::Tensor> keys_, values_;
  at::Tensor padding_;
};

}  // namespace cdb
