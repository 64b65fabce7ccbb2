#include "residency/tier.h"

namespace cdb {

std::string_view tier_name(Tier tier) {
  switch (tier) {
    case Tier::Device: return "device";
    case Tier::Host: return "host";
    case Tier::Disk: return "disk";
  }
  return "unknown";
}

}  // namespace cdb
