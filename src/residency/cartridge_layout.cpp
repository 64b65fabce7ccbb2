#include "residency/cartridge_layout.h"

#include <algorithm>

#include "common/error.h"
#include "engine/tensor_bridge.h"
#include "storage/dtype.h"

namespace cdb {

std::string cartridge_tensor_name(int64_t layer, bool keys) {
  return "layers." + std::to_string(layer) + (keys ? ".keys" : ".values");
}

int64_t CartridgeLayout::tokens() const {
  int64_t n = 0;
  for (int64_t p : part_tokens) n += p;
  return n;
}

namespace {

// K and V of every layer for `tokens` tokens in `dtype`.
int64_t kv_bytes(const CartridgeLayout& l, int64_t tokens, at::ScalarType dtype) {
  return 2 * l.layers * l.kv_heads * tokens * l.head_dim * static_cast<int64_t>(c10::elementSize(dtype));
}

}  // namespace

int64_t CartridgeLayout::part_bytes(size_t part) const { return kv_bytes(*this, part_tokens.at(part), dtype); }

int64_t CartridgeLayout::bytes() const {
  int64_t n = 0;
  for (size_t i = 0; i < part_tokens.size(); ++i) n += part_bytes(i);
  return n;
}

int64_t CartridgeLayout::resident_bytes() const { return kv_bytes(*this, tokens(), resident_dtype); }

namespace {

// The layout of one row, with part_tokens = {its tokens}.
CartridgeLayout row_layout(const CartridgeRow& row) {
  const std::string what = "cartridge " + std::to_string(row.id);
  // As the Store's reads: a superseded version is still served (a query may
  // ask for it); building, damaged and failed ones are not.
  if (!is_servable(row.status))
    throw CorruptData(what + " is " + std::string(to_string(row.status)) + " and cannot be served");
  const int64_t layers = static_cast<int64_t>(row.tensors.size()) / 2;
  if (layers == 0 || static_cast<int64_t>(row.tensors.size()) != 2 * layers)
    throw CorruptData(what + " has " + std::to_string(row.tensors.size()) +
                      " tensors; expected keys and values for each layer");
  CartridgeLayout out;
  out.layers = layers;
  int64_t tokens = -1;
  for (int64_t l = 0; l < layers; ++l) {
    for (bool keys : {true, false}) {
      const std::string name = cartridge_tensor_name(l, keys);
      auto it = std::find_if(row.tensors.begin(), row.tensors.end(), [&](const auto& t) { return t.name == name; });
      if (it == row.tensors.end()) throw CorruptData(what + " has no tensor '" + name + "'");
      if (it->shape.size() != 3) throw CorruptData(what + " tensor '" + name + "' is not [kv_heads, tokens, head_dim]");
      const at::ScalarType dtype = to_scalar_type(parse_dtype(it->dtype));
      if (tokens < 0) {
        out.kv_heads = it->shape[0];
        tokens = it->shape[1];
        out.head_dim = it->shape[2];
        out.dtype = dtype;
      } else if (it->shape[0] != out.kv_heads || it->shape[1] != tokens || it->shape[2] != out.head_dim ||
                 dtype != out.dtype) {
        throw CorruptData(what + " tensor '" + name + "' differs in shape or dtype from 'layers.0.keys'");
      }
    }
  }
  out.part_tokens = {tokens};
  return out;
}

}  // namespace

CartridgeLayout CartridgeLayout::of(const std::vector<CartridgeRow>& rows) {
  if (rows.empty()) throw InvalidArgument("a Cartridge layout needs at least one cartridge row");
  CartridgeLayout out = row_layout(rows.front());
  for (size_t i = 1; i < rows.size(); ++i) {
    CartridgeLayout part = row_layout(rows[i]);
    if (part.layers != out.layers || part.kv_heads != out.kv_heads || part.head_dim != out.head_dim ||
        part.dtype != out.dtype)
      throw InvalidArgument("cannot compose cartridge " + std::to_string(rows[i].id) + " (" +
                            std::to_string(part.layers) + " layers, " + std::to_string(part.kv_heads) +
                            " kv heads, head_dim " + std::to_string(part.head_dim) + ", " +
                            c10::toString(part.dtype) + ") after cartridge " + std::to_string(rows.front().id) +
                            " (" + std::to_string(out.layers) + " layers, " + std::to_string(out.kv_heads) +
                            " kv heads, head_dim " + std::to_string(out.head_dim) + ", " +
                            c10::toString(out.dtype) + ")");
    out.part_tokens.push_back(part.part_tokens.front());
  }
  out.resident_dtype = out.dtype;
  return out;
}

}  // namespace cdb
