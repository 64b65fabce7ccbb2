// backup_store: a consistent copy of a data directory, taken while another
// process (a server) holds it open for writing (`cartridge store backup`).
//
// Only reads: the source is opened read-only beside the writer's LOCK (an
// LMDB read-only environment registers in the reader table, SQLite reads a
// WAL snapshot). The catalog is copied first with SQLite's backup API, in
// one step (one read snapshot), then LMDB with mdb_env_copy2(MDB_CP_COMPACT)
// (one read transaction). Because a value's blobs commit before its row and
// a removal deletes the row before the blobs, every row of the catalog
// snapshot has its blobs in the later LMDB snapshot unless a removal ran in
// between; the copy is checked for exactly that and taken again (up to 5
// times). Blobs newer than the catalog snapshot are orphans in the copy,
// quarantined when it is first opened. scratch/ is disposable and not
// copied. The destination is a data directory, usable as is.
#pragma once

#include <cstddef>
#include <filesystem>

namespace cdb {

struct BackupReport {
  size_t catalog_bytes = 0;
  size_t blob_bytes = 0;  // data.mdb of the copy
  size_t blobs = 0;
  size_t referenced = 0;
  int attempts = 0;
};

// dest must not exist or be an empty directory.
BackupReport backup_store(const std::filesystem::path& dir, const std::filesystem::path& dest);

}  // namespace cdb
