#include "server/owner_only_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace cdb::server {

std::optional<std::string> read_owner_only_file(const std::string& path, std::string_view what, size_t read_limit) {
  const std::string name(what);
  auto fail = [&](const char* doing, int err) {
    return std::runtime_error(std::string("cannot ") + doing + " the " + name + " " + path + ": " + std::strerror(err));
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    throw fail("open", errno);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    throw fail("stat", e);
  }
  if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
    ::close(fd);
    throw std::runtime_error("the " + name + " " + path +
                             " must be a regular file that only its owner can read (chmod 600)");
  }
  std::string out;
  char buf[512];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      throw fail("read", e);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > read_limit) break;
  }
  ::close(fd);
  return out;
}

}  // namespace cdb::server
