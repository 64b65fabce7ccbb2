// SCRAM-SHA-256 (RFC 5802 / 7677) as PostgreSQL speaks it: the server keeps
// a secret derived from the password (salt, iterations, StoredKey,
// ServerKey; never the password) and checks the client's proof against it.
// Channel binding (SCRAM-SHA-256-PLUS) is not offered; a client that could
// bind says so with the "y" flag, which is accepted since nothing was
// offered to downgrade from.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace cdb::server {

// What --add-user writes, so a made-up secret (mock_secret) shows the same.
inline constexpr int kScramIterations = 4096;
inline constexpr size_t kScramSaltBytes = 16;

struct ScramSecret {
  int iterations = kScramIterations;
  std::string salt;        // raw bytes
  std::string stored_key;  // SHA-256(ClientKey), 32 bytes
  std::string server_key;  // HMAC(SaltedPassword, "Server Key"), 32 bytes

  // The keys for `password` with `salt` (empty: 16 fresh random bytes).
  static ScramSecret from_password(std::string_view password, int iterations = kScramIterations, std::string salt = {});
  // "SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>", base64
  // fields, the form of pg_authid.rolpassword.
  std::string to_string() const;
  // Parses to_string()'s form; std::nullopt when malformed.
  static std::optional<ScramSecret> parse(std::string_view text);
};

std::string base64_encode(std::string_view raw);
std::optional<std::string> base64_decode(std::string_view text);
std::string random_bytes(size_t n);

// The secret an unknown `user` is challenged with: salt and keys from
// HMAC-SHA-256(server_key, ...) and the default iteration count, so that
// it is stable across connections and restarts (with the same key) and
// shaped like a real one, as PostgreSQL's scram_mock_salt() is. No
// password matches it: the exchange for an unknown user always fails.
ScramSecret mock_secret(std::string_view server_key, std::string_view user);

// The server side of one exchange. first() takes the client's
// SASLInitialResponse data and returns server-first-message; final() takes
// client-final-message and returns server-final-message ("v=...") when the
// proof is right. A malformed message throws ProtocolViolation; a wrong
// proof returns std::nullopt.
class ScramExchange {
 public:
  // `secret` empty: an unknown user; the exchange runs against `mock`
  // (mock_secret(); none: random bytes) so that the client cannot tell
  // unknown users from bad passwords, and always fails.
  // `server_nonce` empty: a random one (tests pass RFC 7677's).
  explicit ScramExchange(std::optional<ScramSecret> secret, std::string server_nonce = {},
                         std::optional<ScramSecret> mock = std::nullopt);

  std::string first(std::string_view client_first);
  std::optional<std::string> final(std::string_view client_final);

 private:
  std::optional<ScramSecret> secret_;
  ScramSecret used_;
  std::string server_nonce_, client_first_bare_, server_first_, nonce_, gs2_header_;
};

}  // namespace cdb::server
