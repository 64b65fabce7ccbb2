// S3BlobStore: the bucket side of a Store whose blobs live in S3-compatible
// object storage (`--blobs s3://bucket/prefix`). Under the prefix:
//   <prefix>/blobs/<key>       a blob, byte for byte as LMDB holds it
//                              (tensor codec, checksummed)
//   <prefix>/records/<key>     its BlobRecord (blob_record.h), what
//                              `cartridge store recover` would rebuild from
//   <prefix>/quarantine/<key>  a blob the store no longer references, kept
//                              until the bucket's lifecycle rule expires it
//                              (docs/scale-out.md); its LastModified is the
//                              time it was moved
//   <prefix>/cdb.identity      the store's identity, {"store_id": ...,
//                              "format_version": N}, matched against the
//                              catalog's at every open (store_identity.h)
//
// A blob's PUT is its commit point: S3 makes a completed PUT durable and
// visible whole, never in part, so the Store writes the blob here before the
// catalog row that names it, as with LMDB. Objects are immutable once
// written: every key is fresh (random ids or content hashes).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/s3/s3_client.h"
#include "storage/s3/s3_url.h"
#include "storage/store_identity.h"

namespace cdb {

class S3BlobStore {
 public:
  S3BlobStore(S3Location location, S3Options options);

  const S3Location& location() const { return location_; }
  S3Client& client() { return client_; }
  // "s3://bucket/prefix/blobs/<key>", for messages.
  std::string describe(std::string_view key) const;

  // The blob, then its record.
  void put(std::string_view key, std::string_view blob, std::string_view record);
  // NotFound when absent. `size`: the blob's size if known (a catalog
  // row), which saves the request that would learn it.
  std::string get(std::string_view key, std::optional<size_t> size = std::nullopt);
  std::optional<std::string> get_if_present(std::string_view key);
  bool contains(std::string_view key);
  // Deletes a blob and its record; absent is no error.
  void erase(std::string_view key);
  // Blob keys (without the prefix), in order; at most `limit` (0: all).
  std::vector<std::string> keys(size_t limit = 0);

  // Each object under blobs/ (or quarantine/) with its key there, size and
  // LastModified (0 when the listing gave none), in key order, page by page
  // (ListObjectsV2 with continuation tokens, each page bounded). The
  // listing is input like any other: an entry whose key is not under the
  // prefix, or is only the prefix, is skipped. At most `limit` entries are
  // passed (0: all); returns whether the listing went past them.
  struct Listed {
    std::string key;  // without the prefix
    uint64_t size = 0;
    int64_t last_modified = 0;
  };
  bool for_each_blob(const std::function<void(const Listed&)>& fn, size_t limit = 0);
  bool for_each_quarantined(const std::function<void(const Listed&)>& fn, size_t limit = 0);

  // Copies each blob into quarantine/ and deletes it from blobs/ (the
  // record stays, so that recover still knows what it was). A blob already
  // gone (another process moved it first) is passed over. Returns the keys
  // this call moved.
  std::vector<std::string> quarantine(const std::vector<std::string>& keys);
  // Deletes a quarantined blob and its record; absent is no error.
  void purge(std::string_view key);
  // Quarantined keys with the unix time each was moved, oldest first.
  std::vector<std::pair<std::string, int64_t>> quarantined();
  // Moves quarantined keys back into blobs/; returns those moved.
  std::vector<std::string> restore(const std::vector<std::string>& keys);

  std::optional<StoreIdentity> read_identity();
  void write_identity(const StoreIdentity& id);

 private:
  S3Location location_;
  S3Client client_;
};

}  // namespace cdb
