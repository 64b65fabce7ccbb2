// CartridgeSource: where a ResidencyManager reads what it does not hold.
//
// The manager's policy (what is resident, what is evicted, what a load must
// reserve) reads only catalog rows and their layouts; the tensors come from
// a source. CartridgeLoader is the source of every server: the Store, with
// the device and host copies a load can reuse. A fleet simulation passes a
// source that moves no bytes (cluster/layout_only_source.h), so that the
// same policy runs over a hundred nodes without a hundred devices.
//
// A source is called outside the manager's mutex, from several threads at
// once: load() must be safe to call concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "engine/cartridge.h"
#include "residency/cartridge_layout.h"
#include "storage/catalog.h"

namespace cdb {

// One part of a load and the nearest copy of its tensors. The pointers are
// the caller's: they must stay valid (and, on the device, stay counted in the
// budget) until load() returns.
struct LoadSource {
  const CartridgeRow* row = nullptr;
  const Cartridge* device = nullptr;  // on the target device already
  const Cartridge* host = nullptr;    // decompressed on the host (pinned on CUDA)
};

struct LoadedCartridge {
  Cartridge cartridge;  // on the target device
  // Per source: the host copy of a part read from disk, when the load was
  // asked to keep them (CUDA), else null. Always one slot per source.
  std::vector<std::shared_ptr<const Cartridge>> from_disk;
  int64_t disk_bytes = 0;  // decompressed bytes read from the Store
  int64_t host_bytes = 0;  // bytes copied from host copies
  double seconds = 0;      // wall time of the whole load
};

class CartridgeSource {
 public:
  virtual ~CartridgeSource() = default;

  // The catalog row of a Cartridge (pin() starts from it); none when unknown.
  virtual std::optional<CartridgeRow> row(int64_t cartridge_id) const = 0;

  // `sources` in composition order, matching layout.part_tokens.
  // keep_host_copies: return the host buffers of parts read from disk in
  // from_disk (meaningful on CUDA only).
  virtual LoadedCartridge load(const CartridgeLayout& layout, const std::vector<LoadSource>& sources,
                               bool keep_host_copies) const = 0;
};

}  // namespace cdb
