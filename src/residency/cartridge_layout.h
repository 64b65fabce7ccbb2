// The shape of a Cartridge, or of several composed in order, read from their
// catalog rows before any tensor is loaded: what a load will allocate, and so
// what the residency budget must reserve.
#pragma once

#include <c10/core/ScalarType.h>

#include <cstdint>
#include <string>
#include <vector>

#include "storage/catalog.h"

namespace cdb {

struct CartridgeLayout {
  int64_t layers = 0;
  int64_t kv_heads = 0;
  int64_t head_dim = 0;
  at::ScalarType dtype = at::kFloat;           // as stored (and kept on the host tier)
  at::ScalarType resident_dtype = at::kFloat;  // as loaded on the device; of() sets it to dtype
  std::vector<int64_t> part_tokens;  // tokens of each row, in order

  int64_t tokens() const;                // all parts
  int64_t part_bytes(size_t part) const;  // K and V of all layers of one part, as stored
  int64_t bytes() const;                 // all parts, as stored
  int64_t resident_bytes() const;        // the composed Cartridge on the device

  // Reads the layout from rows: each must be "ready" or "superseded" and have keys and values
  // [kv_heads, tokens, head_dim] for every layer (CorruptData otherwise), and
  // all must agree on layers, kv_heads, head_dim and dtype (InvalidArgument
  // naming the first row that differs). InvalidArgument for no rows.
  static CartridgeLayout of(const std::vector<CartridgeRow>& rows);
};

// "layers.<l>.keys" or "layers.<l>.values": a stored Cartridge tensor.
std::string cartridge_tensor_name(int64_t layer, bool keys);

}  // namespace cdb
