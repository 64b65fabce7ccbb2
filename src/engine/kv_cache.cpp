#include "engine/kv_cache.h"

#include <ATen/ATen.h>

#include "common/error.h"
#include "engine/cartridge.h"

namespace cdb {

KVCache::KVCache(const ModelConfig& config, int64_t batch, int64_t capacity, at::TensorOptions options)
    : batch_(batch), capacity_(capacity) {
  if (batch <= 0 || capacity <= 0)
    throw InvalidArgument("KVCache needs batch > 0 and capacity > 0, got batch=" + std::to_string(batch) +
                          " capacity=" + std::to_string(capacity));
  for (int64_t l = 0; l < config.n_layers; ++l) {
    keys_.push_back(at::zeros({batch, config.n_kv_heads, capacity, config.head_dim}, options));
    values_.push_back(at::zeros({batch, config.n_kv_heads, capacity, config.head_dim}, options));
  }
}

KVCache KVCache::over(std::vector<at::Tensor> keys, std::vector<at::Tensor> values, int64_t length) {
  if (keys.empty() || keys.size() != values.size() || keys.front().dim() != 4)
    throw InvalidArgument("KVCache::over: expected per-layer [B, n_kv, capacity, hd] keys and values");
  KVCache c;
  c.batch_ = keys.front().size(0);
  c.capacity_ = keys.front().size(2);
  if (length < 0 || length > c.capacity_)
    throw InvalidArgument("KVCache::over: length " + std::to_string(length) + " outside [0, " +
                          std::to_string(c.capacity_) + "]");
  c.length_ = length;
  c.keys_ = std::move(keys);
  c.values_ = std::move(values);
  return c;
}

void KVCache::clear() {
  length_ = 0;
  padding_ = at::Tensor();
}

void KVCache::set_padding(const at::Tensor& padding) {
  if (length_ != 0) throw InvalidArgument("KVCache::set_padding: the cache already holds tokens");
  if (padding.defined() && (padding.dim() != 1 || padding.size(0) != batch_))
    throw InvalidArgument("KVCache::set_padding: expected [" + std::to_string(batch_) + "] padding");
  padding_ = padding.defined() ? padding.to(keys_.front().device(), at::kLong) : at::Tensor();
}

std::pair<at::Tensor, at::Tensor> KVCache::append(int64_t layer, const at::Tensor& k, const at::Tensor& v) {
  const int64_t t = k.size(2);
  if (length_ + t > capacity_)
    throw InvalidArgument("KVCache is full: " + std::to_string(length_) + " + " + std::to_string(t) +
                          " tokens exceed its capacity of " + std::to_string(capacity_));
  at::Tensor& K = keys_.at(static_cast<size_t>(layer));
  at::Tensor& V = values_.at(static_cast<size_t>(layer));
  K.narrow(2, length_, t).copy_(k);
  V.narrow(2, length_, t).copy_(v);
  return {K.narrow(2, 0, length_ + t), V.narrow(2, 0, length_ + t)};
}

void KVCache::advance(int64_t t) { length_ += t; }

void KVCache::select_rows(const at::Tensor& rows) {
  at::Tensor idx = rows.to(keys_.front().device(), at::kLong);
  for (auto& k : keys_) k = k.index_select(0, idx);
  for (auto& v : values_) v = v.index_select(0, idx);
  if (padding_.defined()) padding_ = padding_.index_select(0, idx);
  batch_ = idx.size(0);
}

Cartridge KVCache::to_cartridge(int64_t row) const {
  if (row < 0 || row >= batch_) throw InvalidArgument("KVCache::to_cartridge: no row " + std::to_string(row));
  const int64_t pad = padding_.defined() ? padding_[row].item<int64_t>() : 0;
  Cartridge c;
  for (size_t l = 0; l < keys_.size(); ++l) {
    c.keys.push_back(keys_[l][row].narrow(1, pad, length_ - pad).clone());
    c.values.push_back(values_[l][row].narrow(1, pad, length_ - pad).clone());
  }
  return c;
}

}  // namespace cdb
