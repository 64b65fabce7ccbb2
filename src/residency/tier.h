// Where a Cartridge's tensors are, nearest first. SHOW CACHE reports the
// Device and Host tiers; Disk is the Store (LMDB), always complete.
#pragma once

#include <string_view>

namespace cdb {

enum class Tier { Device, Host, Disk };

// "device", "host", "disk".
std::string_view tier_name(Tier tier);

}  // namespace cdb
