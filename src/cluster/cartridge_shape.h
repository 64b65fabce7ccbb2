// CartridgeShape: what one stored Cartridge of a model looks like, for
// sizing without training one: keys and values [kv_heads, tokens, head_dim]
// of every layer, in one dtype. The model dimensions are the real
// checkpoints' (engine/random_model.h), the bytes are CartridgeLayout's: the
// simulation and a server reserve the same bytes for the same Cartridge.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "storage/catalog.h"

namespace cdb {

struct CartridgeShape {
  std::string model;
  int64_t layers = 0;
  int64_t kv_heads = 0;
  int64_t head_dim = 0;
  int64_t tokens = 0;
  std::string dtype;  // as stored: "bf16", "f32", "f16"

  // The shape of `model`'s Cartridges of `tokens` tokens. InvalidArgument
  // for an unknown model (listing the known ones), tokens outside
  // [1, 1048576], or a dtype other than bf16, f16 or f32.
  static CartridgeShape of_model(std::string_view model, int64_t tokens, std::string_view dtype = "bf16");

  // A ready catalog row of this shape with id `id`, as the Store would list
  // it: one tensor row per layer and kind (no blobs behind them).
  CartridgeRow row(int64_t id) const;

  // Bytes of one stored Cartridge (CartridgeLayout::bytes of row()).
  int64_t bytes() const;
  // Bytes of one stored tensor (one layer's keys or values).
  int64_t tensor_bytes() const;
  int64_t tensors() const { return 2 * layers; }
};

}  // namespace cdb
