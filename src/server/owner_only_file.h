// Reading a secret kept in a file that only its owner may read (the
// server secret, the cluster secret). The file is opened without following
// a symlink and checked on the open descriptor, so what is checked is what
// is read; a file that group or others may read is refused rather than a
// secret silently exposed.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace cdb::server {

// The file's bytes, at most `read_limit` + one read buffer of them (a
// caller's size check then refuses a longer file), or std::nullopt when it
// does not exist. std::runtime_error naming `what` and the path when it
// cannot be opened, stat'ed or read, or is not a regular file of mode
// 0600 or stricter.
std::optional<std::string> read_owner_only_file(const std::string& path, std::string_view what, size_t read_limit);

}  // namespace cdb::server
