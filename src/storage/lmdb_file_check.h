// LmdbFileCheck: reads an LMDB data file's two meta pages with plain
// pread()s, before LMDB maps it, and compares the file's size with what the
// newest meta page says the environment uses.
//
// Why: LMDB maps the whole file and trusts its meta page. A data.mdb cut
// short (a copy that stopped, a truncate, a full disk under a careless
// tool) still has valid meta pages naming pages past the end of the file;
// touching one through the map raises SIGBUS and kills the process. A
// 0-byte data.mdb is worse: LMDB takes it for a new environment and writes
// an empty one over it. Checking first turns both into a decision the
// caller makes (an error naming the file, or "there is no environment").
//
// The layout read here is LMDB 0.9's (MDB_DATA_VERSION 1, 64-bit):
// a 16-byte page header, then MDB_meta { magic u32, version u32,
// address ptr, mapsize size_t, dbs[2] (48 bytes each, dbs[0].md_pad is the
// page size), last_pg, txnid }. LMDB itself uses the meta with the larger
// txnid.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>

namespace cdb {

struct LmdbFileState {
  bool present = false;      // data.mdb exists and is not empty
  size_t file_bytes = 0;
  size_t page_bytes = 0;
  uint64_t last_page = 0;    // of the newest meta
  uint64_t txnid = 0;        // of the newest meta
  uint64_t main_entries = 0; // keys of the main database (named sub-databases included)
  size_t needed_bytes() const { return static_cast<size_t>((last_page + 1) * page_bytes); }
};

// Inspects <dir>/data.mdb. Absent or 0 bytes: present == false. Anything
// else that LMDB could not use safely (too short for its meta pages, bad
// magic or version, fewer bytes than the newest meta's last page needs)
// throws CorruptData naming the file, the sizes, and what to do.
LmdbFileState check_lmdb_file(const std::filesystem::path& dir);

}  // namespace cdb
