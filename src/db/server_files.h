// ServerFiles: which of the server's files LOAD FILE and LOAD DIRECTORY may
// read for a session (docs/server.md, "Security model").
//
// Unconfined (the embedded library, the local shell): any path, as the OS
// user. Confined (every remote session): superusers only, as PostgreSQL's
// pg_read_server_files, and only inside the load root: a relative path
// resolves under it, an absolute one must lie inside it after realpath
// (so '..' and symlinks cannot leave it). Without a load root, nothing.
//
// Every refused path gets the same message, whether it exists or not, is a
// file or not: a client must not learn which paths exist outside the root.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "db/session_identity.h"

namespace cdb {

class ServerFiles {
 public:
  explicit ServerFiles(const SessionIdentity& identity);

  // The path to read for `requested` (as written in the statement named by
  // `statement`, e.g. "LOAD FILE"). PermissionDenied when refused.
  std::filesystem::path resolve(const std::string& requested, std::string_view statement) const;
  // Whether `found` (a file met while listing an admitted directory) may be
  // read: its realpath lies inside the root. Always true when unconfined.
  bool admits(const std::filesystem::path& found) const;
  bool confined() const { return confined_; }

 private:
  bool confined_;
  bool superuser_;
  bool has_root_;
  bool root_exists_ = false;
  std::filesystem::path root_;  // canonical
};

}  // namespace cdb
