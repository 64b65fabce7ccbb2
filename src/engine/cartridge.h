// A Cartridge: a small trained KV cache that stands in for a corpus.
//
// Per layer l, keys[l] and values[l] have shape [n_kv_heads, p, head_dim].
// Keys are stored post-RoPE, rotated at positions 0..p-1. A query run with a
// Cartridge of p tokens takes positions p, p+1, ...
//
// Composition: several Cartridges concatenate along the token axis, each
// keeping the positions it was trained with; the query starts at the total
// length. Each keeps its own first token (the attention sink it was trained
// with): removing it would change what the rest of that Cartridge means.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

namespace cdb {

struct Cartridge {
  std::vector<at::Tensor> keys;    // per layer [n_kv_heads, p, head_dim]
  std::vector<at::Tensor> values;  // per layer [n_kv_heads, p, head_dim]

  int64_t tokens() const { return keys.empty() ? 0 : keys.front().size(1); }
  int64_t layers() const { return static_cast<int64_t>(keys.size()); }
  bool empty() const { return tokens() == 0; }
  // Bytes held by the tensors (K and V, all layers).
  int64_t bytes() const;
};

// Concatenates along the token axis in the order given. All parts must agree
// on layers, heads, head_dim, dtype and device.
Cartridge compose(const std::vector<const Cartridge*>& parts);

}  // namespace cdb
