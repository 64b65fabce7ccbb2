// The users file: one line per user,
//
//   name:SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>[:<role>[:<quotas>[:<api keys>]]]
//
// The secret is pg_authid's form. <role> is `superuser` or `user`; an entry
// without one was written before roles existed and is a superuser, so an
// upgrade changes nothing. <quotas> is `key=value,...` with the keys
// queued_jobs, steps_per_job, corpora, bytes_stored and a number or
// `unlimited` as value; a key not given has its default (cartridgedb::Quotas).
// <api keys> is `sha256$<hex>,...`: the SHA-256 of each HTTP API key of the
// user (`--add-api-key`); the keys themselves are shown once and never stored.
// Blank lines and lines starting with '#' are ignored and kept.
//
// `cartridge serve --users FILE --add-user NAME [--superuser]` and
// `--set-quota NAME key=value` write entries. The file holds secrets: it is
// rewritten through a temporary file created 0600 (never readable by others,
// not even for a moment) and renamed over the old one, so a crash leaves the
// old file.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cartridgedb/cartridgedb.h"
#include "server/scram.h"

namespace cdb::server {

struct UserEntry {
  ScramSecret secret;
  bool superuser = true;
  cartridgedb::Quotas quotas;
  std::vector<std::string> api_key_hashes;  // "sha256$<hex>" each
};

class UserFile;

// The identity of a session authenticated as `user`: a listed user's role
// and quotas; a user not listed (possible only under trust) is a superuser.
// Every remote session is confined to `load_root` for server files.
cartridgedb::SessionIdentity session_identity(const UserFile* users, const std::string& user,
                                              const std::string& load_root);

class UserFile {
 public:
  // Throws std::runtime_error naming the file and line when malformed.
  static UserFile load(const std::string& path);

  std::optional<ScramSecret> find(const std::string& user) const;
  std::optional<UserEntry> entry(const std::string& user) const;
  size_t size() const { return users_.size(); }
  // The user whose API key this is (compared by its SHA-256, in constant
  // time per stored hash); std::nullopt for an unknown key.
  std::optional<std::string> user_for_api_key(const std::string& key) const;

  // Adds or replaces `user` in the file at `path` (created when missing) with
  // this password and role; a replaced entry keeps its quotas.
  static void set_password(const std::string& path, const std::string& user, const std::string& password,
                           bool superuser = false);
  // Sets one quota, "key=value" (value: a number or `unlimited`), of a user
  // already in the file.
  static void set_quota(const std::string& path, const std::string& user, const std::string& assignment);
  // Makes a new random API key for `user` (already in the file), stores its
  // hash and returns the key: the only time it is ever seen.
  static std::string add_api_key(const std::string& path, const std::string& user);

 private:
  std::map<std::string, UserEntry> users_;
};

}  // namespace cdb::server
