#include "storage/dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "common/error.h"

namespace cdb {

DirLock::DirLock(const std::filesystem::path& file) {
  fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw IoError("cannot open lock file " + file.string() + ": " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd_);
    if (err == EWOULDBLOCK)
      throw IoError("store " + file.parent_path().string() +
                    " is open for writing by another process; close it or open read-only");
    throw IoError("cannot lock " + file.string() + ": " + std::strerror(err));
  }
}

DirLock::~DirLock() { ::close(fd_); }

}  // namespace cdb
