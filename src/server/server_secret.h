// The server secret: random bytes kept in a file beside the users file
// (`<users file>.secret`), readable by the server's OS user only, from
// which SCRAM derives the made-up salt of an unknown user (mock_secret in
// scram.h). Kept in a file so that the salt survives restarts; a salt that
// changed would tell a client that the user does not exist.
//
// The first start creates the file atomically, already with mode 0600 (a
// temporary file opened O_EXCL with that mode, then linked into place, so
// that no other reader can ever see it half-written or with a looser mode,
// and two servers starting at once agree on one secret). Later starts read
// it; a file that group or others may read, or that is too short, is an
// error naming it rather than a secret silently weakened or replaced.
#pragma once

#include <cstddef>
#include <string>

namespace cdb::server {

inline constexpr size_t kServerSecretBytes = 32;

// The secret in `path`, created when missing. Throws std::runtime_error
// naming the file.
std::string load_or_create_server_secret(const std::string& path);

}  // namespace cdb::server
