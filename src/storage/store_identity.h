// StoreIdentity: which data directory a catalog and a blob environment
// belong to, and in which format they were written. Stored twice, once in
// each file (the catalog's store_identity table, sql/005_store_identity.sql;
// LMDB's "cdb.meta" sub-database under key "identity", as
// {"store_id": "<32 hex>", "format_version": N}), so that an open can tell
// a pair that belongs together from a catalog that was emptied, lost or
// swapped, before it changes either file.
//
// Creation writes LMDB's copy first, then the catalog's: a crash in between
// leaves an LMDB identity with no blobs beside a catalog without one, which
// the next open adopts (nothing can be lost: there are no blobs yet).
#pragma once

#include <optional>
#include <string>

namespace cdb {

class BlobStore;
class Catalog;

// Format 1: blobs in LMDB's main database, per-blob records in
// "cdb.records", orphans in "cdb.quarantine".
inline constexpr int kStoreFormatVersion = 1;

struct StoreIdentity {
  std::string store_id;  // 32 hex digits
  int format_version = kStoreFormatVersion;
  bool operator==(const StoreIdentity&) const = default;
};

StoreIdentity new_store_identity();

// nullopt when the file carries none (a store made before identities, a
// new file, or a catalog whose schema predates migration 5 opened read-only).
std::optional<StoreIdentity> read_identity(const Catalog& catalog);
std::optional<StoreIdentity> read_identity(const BlobStore& blobs);
void write_identity(Catalog& catalog, const StoreIdentity& id);
void write_identity(BlobStore& blobs, const StoreIdentity& id);

}  // namespace cdb
