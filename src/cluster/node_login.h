// NodeLogin: how one serve node logs in to another to relay an ASK
// (docs/scale-out.md, "Routing"). Every node of a fleet reads the same
// cluster secret (--cluster-secret-file); a relaying node logs in to its
// peer as the internal principal kNodePrincipal over the ordinary
// SCRAM-SHA-256 exchange, with a password derived from the secret, and names
// the user it acts for in the startup packet's options
// (`-c cartridgedb.act_as=NAME`). The peer derives the same password, so
// the secret never crosses the wire (SCRAM sends a proof, not the
// password), and accepts `act_as` only from that principal.
//
// Pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace cdb {

// The principal's user name. Not a valid users-file entry to log in with:
// the server checks it against the cluster secret only.
inline constexpr const char* kNodePrincipal = "cartridgedb_node";
// The startup option naming the user a relayed session acts for.
inline constexpr const char* kActAsOption = "cartridgedb.act_as";
// A cluster secret's size bounds, in bytes (a 32-byte key, or its 64 hex
// digits as `openssl rand -hex 32` writes it).
inline constexpr size_t kMinClusterSecretBytes = 32;
inline constexpr size_t kMaxClusterSecretBytes = 4096;

// The principal's password: hex of HMAC-SHA-256(secret, a fixed label).
// InvalidArgument for a secret outside the size bounds.
std::string node_password(std::string_view cluster_secret);

// The startup `options` value that names `user` (spaces and backslashes
// escaped as libpq's options want them).
std::string act_as_options(std::string_view user);
// The user an `options` value names with -c cartridgedb.act_as=NAME (or
// --cartridgedb.act_as=NAME), unescaped; nullopt when it names none.
// InvalidArgument for a malformed or empty one.
std::optional<std::string> parse_act_as(std::string_view options);

}  // namespace cdb
