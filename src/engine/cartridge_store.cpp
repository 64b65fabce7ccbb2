#include "engine/cartridge_store.h"

#include <ATen/ATen.h>

#include <string>

#include "common/error.h"
#include "engine/tensor_bridge.h"

namespace cdb {

namespace {
std::string tensor_name(int64_t layer, const char* kind) {
  return "layers." + std::to_string(layer) + "." + kind;
}
}  // namespace

CartridgeRow save_cartridge(Store& store, CartridgeRow meta, const Cartridge& cartridge,
                            const std::function<void(const CartridgeRow&)>& in_transaction) {
  if (cartridge.empty()) throw InvalidArgument("cannot store an empty Cartridge (0 tokens)");
  std::vector<at::Tensor> keep;  // CPU copies must outlive put_cartridge
  std::vector<NamedTensor> named;
  for (int64_t l = 0; l < cartridge.layers(); ++l) {
    for (auto [kind, t] : {std::pair{"keys", cartridge.keys[l]}, std::pair{"values", cartridge.values[l]}}) {
      keep.push_back(t.detach().to(at::kCPU).contiguous());
      named.push_back({tensor_name(l, kind), tensor_view(keep.back())});
    }
  }
  meta.tokens = cartridge.tokens();
  meta.dtype = std::string(dtype_name(to_dtype(cartridge.keys.front().scalar_type())));
  return store.put_cartridge(meta, named, in_transaction);
}

Cartridge load_cartridge(Store& store, const CartridgeRow& row, at::Device device) {
  if (row.status != RowStatus::Ready)
    throw CorruptData("cartridge " + std::to_string(row.id) + " is " + std::string(to_string(row.status)) +
                      " and cannot be served");
  const int64_t layers = static_cast<int64_t>(row.tensors.size()) / 2;
  if (layers == 0 || static_cast<int64_t>(row.tensors.size()) != 2 * layers)
    throw CorruptData("cartridge " + std::to_string(row.id) + " has " + std::to_string(row.tensors.size()) +
                      " tensors; expected keys and values for each layer");
  Cartridge c;
  for (int64_t l = 0; l < layers; ++l) {
    for (auto* kind : {"keys", "values"}) {
      at::Tensor t = to_tensor(store.read_cartridge_tensor(row.id, tensor_name(l, kind)));
      (std::string(kind) == "keys" ? c.keys : c.values).push_back(device.is_cpu() ? t : t.to(device));
    }
  }
  return c;
}

}  // namespace cdb
