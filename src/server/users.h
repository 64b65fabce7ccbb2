// The users file: one line per user, `name:SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`
// (the right-hand side is pg_authid's form). Blank lines and lines starting
// with '#' are ignored. `cartridge serve --users FILE --add-user NAME`
// writes entries.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "server/scram.h"

namespace cdb::server {

class UserFile {
 public:
  // Throws std::runtime_error naming the file and line when malformed.
  static UserFile load(const std::string& path);

  std::optional<ScramSecret> find(const std::string& user) const;
  size_t size() const { return users_.size(); }

  // Adds or replaces `user` in the file at `path` (created when missing),
  // rewriting it through a temporary file so a crash leaves the old one.
  static void set_password(const std::string& path, const std::string& user, const std::string& password);

 private:
  std::map<std::string, ScramSecret> users_;
};

}  // namespace cdb::server
