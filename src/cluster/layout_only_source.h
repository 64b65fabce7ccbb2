// LayoutOnlySource: a CartridgeSource that moves no bytes, for running the
// real ResidencyManager over a simulated fleet.
//
// The manager's policy (hits, misses, LRU eviction, the budget, reservations
// of compositions) reads only the rows' layouts, so with this source it
// decides exactly what it decides in a server; only the load itself is
// modeled: it returns a Cartridge with no tensors, takes no time, and
// reports the bytes a real load would have read (disk_bytes for parts with
// no nearer copy). What it does not model: load time, so concurrent queries
// never wait on one another's loads (the simulation replays questions one
// at a time per node).
//
// Every id in [1, cartridges] is a Cartridge of `shape`.
#pragma once

#include <cstdint>

#include "cluster/cartridge_shape.h"
#include "residency/cartridge_source.h"

namespace cdb {

class LayoutOnlySource : public CartridgeSource {
 public:
  // InvalidArgument for cartridges < 1.
  LayoutOnlySource(CartridgeShape shape, int64_t cartridges);

  std::optional<CartridgeRow> row(int64_t cartridge_id) const override;
  LoadedCartridge load(const CartridgeLayout& layout, const std::vector<LoadSource>& sources,
                       bool keep_host_copies) const override;

  const CartridgeShape& shape() const { return shape_; }
  int64_t cartridges() const { return cartridges_; }

 private:
  CartridgeShape shape_;
  int64_t cartridges_;
  CartridgeRow template_;  // shape_.row(1): rows differ only in their ids, so they are copied from it
};

}  // namespace cdb
