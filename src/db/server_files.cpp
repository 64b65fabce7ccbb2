#include "db/server_files.h"

#include <algorithm>

#include "common/error.h"

namespace cdb {

namespace fs = std::filesystem;

namespace {

// `p` is `root` or below it; both canonical (absolute, no '..', no links).
bool within_root(const fs::path& p, const fs::path& root) {
  return std::mismatch(root.begin(), root.end(), p.begin(), p.end()).first == root.end();
}

}  // namespace

ServerFiles::ServerFiles(const SessionIdentity& identity)
    : confined_(identity.confine_server_files),
      superuser_(identity.superuser),
      has_root_(!identity.load_root.empty()) {
  if (confined_ && !identity.load_root.empty()) {
    std::error_code ec;
    root_ = fs::canonical(identity.load_root, ec);
    root_exists_ = !ec;  // a root that vanished admits nothing
  }
}

fs::path ServerFiles::resolve(const std::string& requested, std::string_view statement) const {
  if (!confined_) return requested;
  const std::string what(statement);
  if (!superuser_)
    throw PermissionDenied("permission denied: " + what +
                           " reads files on the server and needs a superuser (as pg_read_server_files does); "
                           "send the text with ADD DOCUMENT instead");
  if (!has_root_)
    throw PermissionDenied("permission denied: " + what +
                           " is off for remote sessions because the server was started without --load-root DIR; "
                           "send the text with ADD DOCUMENT, or restart the server with --load-root");
  const fs::path candidate = fs::path(requested).is_absolute() ? fs::path(requested) : root_ / requested;
  std::error_code ec;
  const fs::path real = fs::canonical(candidate, ec);
  if (requested.empty() || !root_exists_ || ec || !within_root(real, root_))
    throw PermissionDenied("permission denied: " + what + " '" + requested +
                           "' is not an existing path inside the server's --load-root (paths outside it, and "
                           "paths that leave it through '..' or symlinks, all get this same message)");
  return real;
}

bool ServerFiles::admits(const fs::path& found) const {
  if (!confined_) return true;
  std::error_code ec;
  const fs::path real = fs::canonical(found, ec);
  return !ec && root_exists_ && within_root(real, root_);
}

}  // namespace cdb
