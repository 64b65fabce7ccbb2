#include "storage/blob_cache.h"

namespace cdb {

BlobCache::BlobCache(BlobStore& store, size_t max_bytes) : store_(store), max_(max_bytes) {
  {
    auto txn = store_.read();
    txn.for_each({}, [&](std::string_view key, size_t bytes) {
      lru_.emplace_back(key);
      index_.emplace(std::string(key), Entry{bytes, std::prev(lru_.end())});
      bytes_ += bytes;
    });
  }
  std::vector<std::string> victims;
  {
    std::lock_guard lock(mu_);
    victims = pick_victims({});
  }
  erase_from_store(victims);
}

void BlobCache::touch(std::string_view key) {
  std::lock_guard lock(mu_);
  auto it = index_.find(std::string(key));
  if (it != index_.end()) lru_.splice(lru_.begin(), lru_, it->second.pos);
}

std::vector<std::string> BlobCache::pick_victims(std::string_view keep) {
  std::vector<std::string> victims;
  auto it = lru_.end();
  while (bytes_ > max_ && it != lru_.begin()) {
    --it;
    if (*it == keep) continue;
    auto e = index_.find(*it);
    bytes_ -= e->second.bytes;
    victims.push_back(*it);
    index_.erase(e);
    it = lru_.erase(it);
  }
  evictions_ += victims.size();
  return victims;
}

void BlobCache::erase_from_store(const std::vector<std::string>& keys) {
  if (keys.empty()) return;
  store_.write([&](BlobStore::WriteTxn& w) {
    for (const auto& k : keys) w.erase(k);
  });
}

bool BlobCache::insert(std::string_view key, std::string_view blob) {
  if (blob.size() > max_) return false;
  store_.put(key, blob);
  std::vector<std::string> victims;
  {
    std::lock_guard lock(mu_);
    const std::string k(key);
    if (auto it = index_.find(k); it != index_.end()) {
      bytes_ -= it->second.bytes;
      lru_.erase(it->second.pos);
      index_.erase(it);
    }
    lru_.push_front(k);
    index_.emplace(k, Entry{blob.size(), lru_.begin()});
    bytes_ += blob.size();
    victims = pick_victims(key);
  }
  erase_from_store(victims);
  return true;
}

void BlobCache::erase(const std::vector<std::string>& keys) {
  {
    std::lock_guard lock(mu_);
    for (const auto& k : keys) {
      auto it = index_.find(k);
      if (it == index_.end()) continue;
      bytes_ -= it->second.bytes;
      lru_.erase(it->second.pos);
      index_.erase(it);
    }
  }
  erase_from_store(keys);
}

void BlobCache::clear() {
  std::vector<std::string> all;
  {
    std::lock_guard lock(mu_);
    all.assign(lru_.begin(), lru_.end());
    lru_.clear();
    index_.clear();
    bytes_ = 0;
  }
  erase_from_store(all);
}

size_t BlobCache::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

size_t BlobCache::entries() const {
  std::lock_guard lock(mu_);
  return index_.size();
}

size_t BlobCache::evictions() const {
  std::lock_guard lock(mu_);
  return evictions_;
}

}  // namespace cdb
