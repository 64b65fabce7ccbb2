// The cluster secret (--cluster-secret-file; docs/scale-out.md, "Routing"):
// bytes every node of a fleet reads from a file of its own with the same
// content, from which nodes derive the password they log in to each other
// with (cartridgedb::node_password). Unlike the server secret it is never
// created here: one is made once for the fleet (`openssl rand -hex 32`) and
// installed on every node.
//
// The file must be a regular file that only its owner may read or write
// (mode 0600 or 0400), as the server secret; a looser mode, a file under 32
// bytes (after trailing whitespace is dropped, so that a newline written by
// an editor or echo does not count) or over 4096 bytes is an error naming it.
#pragma once

#include <string>

namespace cdb::server {

// The secret in `path`. Throws std::runtime_error naming the file.
std::string load_cluster_secret(const std::string& path);

}  // namespace cdb::server
