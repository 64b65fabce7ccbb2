#include "cluster/cartridge_shape.h"

#include "common/error.h"
#include "engine/random_model.h"
#include "residency/cartridge_layout.h"
#include "storage/dtype.h"

namespace cdb {

namespace {

constexpr int64_t kMaxTokens = int64_t{1} << 20;

}  // namespace

CartridgeShape CartridgeShape::of_model(std::string_view model, int64_t tokens, std::string_view dtype) {
  if (tokens < 1 || tokens > kMaxTokens)
    throw InvalidArgument("a Cartridge has 1 to " + std::to_string(kMaxTokens) + " tokens, got " +
                          std::to_string(tokens));
  const DType d = parse_dtype(dtype);  // InvalidArgument listing the names
  if (d != DType::BF16 && d != DType::F16 && d != DType::F32)
    throw InvalidArgument("Cartridges are stored in bf16, f16 or f32, got '" + std::string(dtype) + "'");
  const ModelConfig config = random_model_config(model);  // InvalidArgument listing the shapes
  CartridgeShape s;
  s.model = std::string(model);
  s.layers = config.n_layers;
  s.kv_heads = config.n_kv_heads;
  s.head_dim = config.head_dim;
  s.tokens = tokens;
  s.dtype = std::string(dtype_name(d));
  return s;
}

CartridgeRow CartridgeShape::row(int64_t id) const {
  CartridgeRow r;
  r.id = id;
  r.corpus_id = id;
  r.corpus_version = 1;
  r.model_fingerprint = model;
  r.tokens = tokens;
  r.dtype = dtype;
  r.status = RowStatus::Ready;
  r.tensors.reserve(static_cast<size_t>(tensors()));
  for (int64_t l = 0; l < layers; ++l)
    for (bool keys : {true, false})
      r.tensors.push_back({cartridge_tensor_name(l, keys), "", dtype, {kv_heads, tokens, head_dim}, tensor_bytes()});
  r.bytes = tensor_bytes() * tensors();
  return r;
}

int64_t CartridgeShape::bytes() const { return CartridgeLayout::of({row(1)}).bytes(); }

int64_t CartridgeShape::tensor_bytes() const {
  return kv_heads * tokens * head_dim * static_cast<int64_t>(dtype_size(parse_dtype(dtype)));
}

}  // namespace cdb
