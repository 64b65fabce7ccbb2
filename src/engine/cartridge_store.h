// Cartridges in the store: one tensor per layer and kind, named
// "layers.<l>.keys" and "layers.<l>.values", each [n_kv_heads, p, head_dim].
#pragma once

#include <functional>

#include <ATen/core/Tensor.h>

#include "engine/cartridge.h"
#include "storage/store.h"

namespace cdb {

// Writes the tensors (moved to CPU, contiguous) and then the catalog row.
// meta names the corpus, version, model fingerprint and metrics; tokens and
// dtype are filled from the Cartridge. in_transaction: Store::put_cartridge's.
CartridgeRow save_cartridge(Store& store, CartridgeRow meta, const Cartridge& cartridge,
                            const std::function<void(const CartridgeRow&)>& in_transaction = {});

// Reads and verifies every tensor of a stored Cartridge onto `device`.
Cartridge load_cartridge(Store& store, const CartridgeRow& row, at::Device device = at::kCPU);

}  // namespace cdb
