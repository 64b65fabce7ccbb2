// S3Location: where a store's blobs live in an object store, parsed from
// `s3://bucket/prefix` (the --blobs flag). The bucket follows S3's naming
// rules (3..63 of a-z 0-9 . -), checked here so that a typo fails at
// startup with the rule it broke, not as a signature error from the server.
// The prefix is optional; it never starts or ends with '/', and every key
// the store writes lies below "<prefix>/".
#pragma once

#include <string>
#include <string_view>

namespace cdb {

struct S3Location {
  std::string bucket;
  std::string prefix;  // "" or "a/b", without leading or trailing '/'
  // "<prefix>/<name>", or `name` when the prefix is empty.
  std::string key(std::string_view name) const;
  std::string url() const;  // s3://bucket[/prefix]
};

// Whether `text` names an S3 location (starts with "s3://").
bool is_s3_url(std::string_view text);
// InvalidArgument naming the rule broken (bad bucket name, empty bucket,
// "//" in the prefix, a control character).
S3Location parse_s3_url(std::string_view url);

// An object key S3 accepts and that we can sign without ambiguity: 1..1024
// bytes, no control characters, no empty, "." or ".." path segment (curl
// and some servers normalize those, which would change what is signed).
// InvalidArgument naming the key otherwise.
void check_s3_key(std::string_view key);

}  // namespace cdb
