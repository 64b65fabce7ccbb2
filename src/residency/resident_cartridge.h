// A Cartridge held on the device by a ResidencyManager: immutable tensors
// plus the ids of the stored Cartridges it is made of, in composition order.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "engine/cartridge.h"

namespace cdb {

class ResidentCartridge {
 public:
  ResidentCartridge(std::vector<int64_t> ids, Cartridge cartridge)
      : ids_(std::move(ids)), cartridge_(std::move(cartridge)), bytes_(cartridge_.bytes()) {}

  // The tensors: treat as read-only, other queries share them.
  const Cartridge& cartridge() const { return cartridge_; }
  // The stored Cartridges composed here, in order (one id: not composed).
  const std::vector<int64_t>& ids() const { return ids_; }
  int64_t tokens() const { return cartridge_.tokens(); }
  int64_t bytes() const { return bytes_; }

 private:
  std::vector<int64_t> ids_;
  Cartridge cartridge_;
  int64_t bytes_;
};

// Holding a CartridgeRef means "in use": the ResidencyManager never evicts
// the Cartridge while any copy of it is alive. Drop it when the query is
// done. It may outlive the manager (its tensors stay valid).
using CartridgeRef = std::shared_ptr<const ResidentCartridge>;

}  // namespace cdb
