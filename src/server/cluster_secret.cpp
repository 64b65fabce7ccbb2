#include "server/cluster_secret.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace cdb::server {

namespace {

constexpr size_t kMinBytes = 32;
constexpr size_t kMaxBytes = 4096;

}  // namespace

std::string load_cluster_secret(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) throw std::runtime_error("cannot open the cluster secret " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    throw std::runtime_error("cannot stat the cluster secret " + path + ": " + std::strerror(e));
  }
  if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
    ::close(fd);
    throw std::runtime_error("the cluster secret " + path +
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
      throw std::runtime_error("cannot read the cluster secret " + path + ": " + std::strerror(e));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > kMaxBytes + 64) break;  // bounded: the size check below refuses it
  }
  ::close(fd);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == ' ' || out.back() == '\t'))
    out.pop_back();
  if (out.size() < kMinBytes || out.size() > kMaxBytes)
    throw std::runtime_error("the cluster secret " + path + " must hold " + std::to_string(kMinBytes) + " to " +
                             std::to_string(kMaxBytes) + " bytes (make one with `openssl rand -hex 32 > " + path +
                             "` and give every node the same), it holds " + std::to_string(out.size()));
  return out;
}

}  // namespace cdb::server
