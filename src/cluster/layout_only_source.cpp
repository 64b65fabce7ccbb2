#include "cluster/layout_only_source.h"

#include "common/error.h"

namespace cdb {

LayoutOnlySource::LayoutOnlySource(CartridgeShape shape, int64_t cartridges)
    : shape_(std::move(shape)), cartridges_(cartridges), template_(shape_.row(1)) {
  if (cartridges < 1)
    throw InvalidArgument("a simulated store needs at least 1 Cartridge, got " + std::to_string(cartridges));
}

std::optional<CartridgeRow> LayoutOnlySource::row(int64_t cartridge_id) const {
  if (cartridge_id < 1 || cartridge_id > cartridges_) return std::nullopt;
  CartridgeRow r = template_;
  r.id = cartridge_id;
  r.corpus_id = cartridge_id;
  return r;
}

LoadedCartridge LayoutOnlySource::load(const CartridgeLayout& layout, const std::vector<LoadSource>& sources,
                                       bool /*keep_host_copies*/) const {
  if (sources.size() != layout.part_tokens.size())
    throw InvalidArgument("layout-only source: " + std::to_string(sources.size()) + " sources for a layout of " +
                          std::to_string(layout.part_tokens.size()) + " parts");
  LoadedCartridge out;
  out.from_disk.resize(sources.size());
  for (size_t i = 0; i < sources.size(); ++i) {
    if (sources[i].device != nullptr) continue;
    if (sources[i].host != nullptr) out.host_bytes += layout.part_bytes(i);
    else out.disk_bytes += layout.part_bytes(i);
  }
  return out;
}

}  // namespace cdb
