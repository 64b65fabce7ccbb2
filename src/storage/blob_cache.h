// BlobCache: the local LMDB environment as a size-bounded read-through
// cache of a store whose blobs live elsewhere (S3, s3_blob_store.h).
//
// It keeps the cached blobs' total size at or under max_bytes by evicting
// the least recently used first. Recency lives in memory: at open the
// blobs already in LMDB are indexed in key order (as if equally old), which
// loses nothing but the previous process's order. A blob larger than the
// whole budget is not cached. The cache holds copies: evicting or losing
// one never loses data, and the Store verifies every blob it reads from it
// as from anywhere else (tensor codec checksums).
//
// Thread-safe. insert() writes LMDB, so a thread must not call it while it
// holds a BlobStore::ReadTxn (blob_store.h).
#pragma once

#include <cstddef>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "storage/blob_store.h"

namespace cdb {

// The "cdb.meta" key of a cache's LMDB naming what it caches ("s3://..."):
// such an environment is never opened, backed up or recovered from as a
// store's own blobs, since it holds only some of them.
inline constexpr std::string_view kCacheOfMetaKey = "cache_of";

class BlobCache {
 public:
  // Indexes what `store` holds, then evicts down to max_bytes.
  BlobCache(BlobStore& store, size_t max_bytes);
  BlobCache(const BlobCache&) = delete;
  BlobCache& operator=(const BlobCache&) = delete;

  // Marks `key` as just used (a cache hit).
  void touch(std::string_view key);
  // Caches `blob` under `key` (replacing it), then evicts the least
  // recently used others until the total fits. Returns whether it was
  // cached (false: larger than the whole budget).
  bool insert(std::string_view key, std::string_view blob);
  void erase(const std::vector<std::string>& keys);
  // Drops every cached blob (the cache of another store, say).
  void clear();

  size_t max_bytes() const { return max_; }
  size_t bytes() const;
  size_t entries() const;
  size_t evictions() const;

 private:
  // Takes victims off the index (under mu_) until the total fits.
  std::vector<std::string> pick_victims(std::string_view keep);
  void erase_from_store(const std::vector<std::string>& keys);

  BlobStore& store_;
  const size_t max_;
  mutable std::mutex mu_;
  std::list<std::string> lru_;  // front: most recently used
  struct Entry {
    size_t bytes;
    std::list<std::string>::iterator pos;
  };
  std::unordered_map<std::string, Entry> index_;
  size_t bytes_ = 0;
  size_t evictions_ = 0;
};

}  // namespace cdb
