// Quarantine: where the garbage collection puts blobs that no catalog row
// references, instead of deleting them. LMDB sub-database "cdb.quarantine",
// keyed by the blob's own key; each value is the unix time (seconds,
// int64 little-endian, 8 bytes) it was moved, followed by the blob's bytes
// unchanged. A blob's record ("cdb.records") stays under the same key, so
// `cartridge store recover` still knows what a quarantined blob was.
//
// Why not delete: an orphan is a blob whose row is gone or never committed.
// That is usually the leftover of a crash between the blob commit and the
// row commit, but it is also what every blob looks like beside a catalog
// restored from an older backup, or beside a wrong catalog that slipped past
// the identity check. Keeping them a week costs disk, not data.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/blob_store.h"

namespace cdb {

// Moves `keys` (present in the blob space) into the quarantine, stamped
// `now`, in the caller's write transaction.
void quarantine_blobs(BlobStore::WriteTxn& w, const std::vector<std::string>& keys, int64_t now);

// Quarantined keys moved before `cutoff` (unix seconds).
std::vector<std::string> quarantined_before(const BlobStore& blobs, int64_t cutoff);

// Deletes quarantined keys and their records, in the caller's transaction.
void purge_quarantined(BlobStore::WriteTxn& w, const std::vector<std::string>& keys);

// Moves quarantined keys back into the blob space (a catalog names them
// again: the collection that moved them was wrong, or the catalog was
// restored); returns the keys moved back.
std::vector<std::string> restore_quarantined(BlobStore::WriteTxn& w, const std::vector<std::string>& keys);

// Every quarantined key with the time it was moved, oldest first.
std::vector<std::pair<std::string, int64_t>> list_quarantine(const BlobStore& blobs);

// Splits a quarantine value into its time and the blob's bytes;
// CorruptData when it is shorter than the 8-byte stamp.
std::pair<int64_t, std::string_view> split_quarantined(std::string_view key, std::string_view value);

}  // namespace cdb
