#include "server/server_secret.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <stdexcept>

#include "server/owner_only_file.h"
#include "server/scram.h"

namespace cdb::server {

namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path) {
  throw std::runtime_error(what + " " + path + ": " + std::strerror(errno));
}

// The whole file, or std::nullopt when it does not exist.
std::optional<std::string> read_secret(const std::string& path) {
  std::optional<std::string> out = read_owner_only_file(path, "server secret", 4096);
  if (!out) return std::nullopt;
  if (out->size() < kServerSecretBytes)
    throw std::runtime_error("the server secret " + path + " is shorter than " + std::to_string(kServerSecretBytes) +
                             " bytes; remove it to make a new one (unknown users' salts will change once)");
  return out;
}

}  // namespace

std::string load_or_create_server_secret(const std::string& path) {
  if (auto existing = read_secret(path)) return *existing;
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) fail("cannot create", tmp);
  const std::string secret = random_bytes(kServerSecretBytes);
  const bool written = ::write(fd, secret.data(), secret.size()) == static_cast<ssize_t>(secret.size()) &&
                       ::fchmod(fd, 0600) == 0 && ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!written) {
    ::unlink(tmp.c_str());
    errno = saved;
    fail("cannot write", tmp);
  }
  // link() fails with EEXIST where another server won the race: use its.
  const bool linked = ::link(tmp.c_str(), path.c_str()) == 0;
  const int link_errno = errno;
  ::unlink(tmp.c_str());
  if (!linked && link_errno != EEXIST) {
    errno = link_errno;
    fail("cannot create the server secret", path);
  }
  if (linked) return secret;
  if (auto theirs = read_secret(path)) return *theirs;
  throw std::runtime_error("the server secret " + path + " appeared and vanished while starting; start again");
}

}  // namespace cdb::server
