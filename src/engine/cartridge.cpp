#include "engine/cartridge.h"

#include <ATen/ATen.h>

#include "common/error.h"

namespace cdb {

int64_t Cartridge::bytes() const {
  int64_t n = 0;
  for (const auto& k : keys) n += k.numel() * static_cast<int64_t>(k.element_size());
  for (const auto& v : values) n += v.numel() * static_cast<int64_t>(v.element_size());
  return n;
}

Cartridge compose(const std::vector<const Cartridge*>& parts) {
  std::vector<const Cartridge*> nonempty;
  for (const Cartridge* p : parts) {
    if (p == nullptr) throw InvalidArgument("compose: null Cartridge");
    if (!p->empty()) nonempty.push_back(p);
  }
  if (nonempty.empty()) return {};
  const Cartridge& first = *nonempty.front();
  for (size_t i = 0; i < nonempty.size(); ++i) {
    const Cartridge& c = *nonempty[i];
    if (c.keys.size() != c.values.size() || c.layers() != first.layers())
      throw InvalidArgument("compose: part " + std::to_string(i) + " has " + std::to_string(c.layers()) +
                            " layers, part 0 has " + std::to_string(first.layers()));
    for (size_t l = 0; l < c.keys.size(); ++l) {
      const at::Tensor& k = c.keys[l];
      const at::Tensor& v = c.values[l];
      const at::Tensor& k0 = first.keys[l];
      if (k.dim() != 3 || v.sizes() != k.sizes() || k.size(0) != k0.size(0) || k.size(2) != k0.size(2) ||
          k.size(1) != c.tokens())
        throw InvalidArgument("compose: part " + std::to_string(i) + " layer " + std::to_string(l) +
                              " has keys " + c10::str(k.sizes()) + " and values " + c10::str(v.sizes()) +
                              ", incompatible with part 0's keys " + c10::str(k0.sizes()));
      if (k.scalar_type() != k0.scalar_type() || v.scalar_type() != k0.scalar_type() ||
          k.device() != k0.device() || v.device() != k0.device())
        throw InvalidArgument("compose: part " + std::to_string(i) + " layer " + std::to_string(l) +
                              " differs in dtype or device from part 0");
    }
  }
  if (nonempty.size() == 1) return first;
  Cartridge out;
  for (size_t l = 0; l < first.keys.size(); ++l) {
    std::vector<at::Tensor> ks, vs;
    for (const Cartridge* c : nonempty) {
      ks.push_back(c->keys[l]);
      vs.push_back(c->values[l]);
    }
    out.keys.push_back(at::cat(ks, 1));
    out.values.push_back(at::cat(vs, 1));
  }
  return out;
}

}  // namespace cdb
