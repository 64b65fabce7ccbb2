#include "engine/kv_slots.h"

#include <ATen/ATen.h>

#include "common/error.h"
#include "engine/cartridge.h"

namespace cdb {

KVSlots::KVSlots(const ModelConfig& config, int64_t slots, int64_t capacity, at::TensorOptions options)
    : slots_(slots), capacity_(capacity) {
  if (slots <= 0 || capacity <= 0)
    throw InvalidArgument("KVSlots needs slots > 0 and capacity > 0, got " + std::to_string(slots) + " x " +
                          std::to_string(capacity));
  // Zeroed once: the LibTorch attention path multiplies a padded block of
  // rows, so slots past a row's length are read with weight 0, and 0 * NaN
  // from uninitialized memory would be NaN. (The fused kernel reads only
  // visible slots.) Old tokens of finished requests stay finite.
  for (int64_t l = 0; l < config.n_layers; ++l) {
    keys_.push_back(at::zeros({slots, config.n_kv_heads, capacity, config.head_dim}, options));
    values_.push_back(at::zeros({slots, config.n_kv_heads, capacity, config.head_dim}, options));
  }
}

int64_t KVSlots::slot_bytes(const ModelConfig& c, int64_t capacity, at::ScalarType dtype) {
  return 2 * c.n_layers * c.n_kv_heads * capacity * c.head_dim * static_cast<int64_t>(c10::elementSize(dtype));
}

KVCache KVSlots::cache(int64_t slot, int64_t length) {
  std::vector<at::Tensor> k, v;
  for (size_t l = 0; l < keys_.size(); ++l) {
    k.push_back(keys_[l].narrow(0, slot, 1));
    v.push_back(values_[l].narrow(0, slot, 1));
  }
  return KVCache::over(std::move(k), std::move(v), length);
}

int64_t KVSlots::write_prefix(int64_t slot, const Cartridge& prefix) {
  if (prefix.layers() != layers())
    throw InvalidArgument("Cartridge has " + std::to_string(prefix.layers()) + " layers, the KV pool " +
                          std::to_string(layers()));
  const int64_t p = prefix.tokens();
  if (p > capacity_)
    throw ResourceExhausted("a Cartridge of " + std::to_string(p) + " tokens does not fit a KV slot of " +
                            std::to_string(capacity_) + " tokens");
  for (size_t l = 0; l < keys_.size(); ++l) {
    keys_[l][slot].narrow(1, 0, p).copy_(prefix.keys[l]);
    values_[l][slot].narrow(1, 0, p).copy_(prefix.values[l]);
  }
  return p;
}

void KVSlots::move(int64_t from, int64_t to, int64_t length) {
  if (from == to || length == 0) return;
  for (size_t l = 0; l < keys_.size(); ++l) {
    keys_[l][to].narrow(1, 0, length).copy_(keys_[l][from].narrow(1, 0, length));
    values_[l][to].narrow(1, 0, length).copy_(values_[l][from].narrow(1, 0, length));
  }
}

}  // namespace cdb
