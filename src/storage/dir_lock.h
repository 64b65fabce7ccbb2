// DirLock: an exclusive flock on <dir>/LOCK, held for the lifetime of a
// read-write Store (and by `cartridge store recover`): garbage collection
// at open must never run beside another writer, whose freshly written blobs
// have no row yet. flock is per open file description, so a second DirLock
// in the same process conflicts just as another process would. Readers
// (read-only opens, backups) never take it.
#pragma once

#include <filesystem>

namespace cdb {

class DirLock {
 public:
  // IoError naming the directory when another writer holds it.
  explicit DirLock(const std::filesystem::path& file);
  ~DirLock();  // closing releases the flock
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace cdb
