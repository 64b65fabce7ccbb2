#include "server/cluster_secret.h"

#include <cerrno>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <utility>

#include "server/owner_only_file.h"

namespace cdb::server {

namespace {

constexpr size_t kMinBytes = 32;
constexpr size_t kMaxBytes = 4096;

}  // namespace

std::string load_cluster_secret(const std::string& path) {
  std::optional<std::string> read = read_owner_only_file(path, "cluster secret", kMaxBytes + 64);
  if (!read) throw std::runtime_error("cannot open the cluster secret " + path + ": " + std::strerror(ENOENT));
  std::string out = std::move(*read);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == ' ' || out.back() == '\t'))
    out.pop_back();
  if (out.size() < kMinBytes || out.size() > kMaxBytes)
    throw std::runtime_error("the cluster secret " + path + " must hold " + std::to_string(kMinBytes) + " to " +
                             std::to_string(kMaxBytes) + " bytes (make one with `openssl rand -hex 32 > " + path +
                             "` and give every node the same), it holds " + std::to_string(out.size()));
  return out;
}

}  // namespace cdb::server
