#include "storage/s3/s3_url.h"

#include "common/error.h"

namespace cdb {

std::string S3Location::key(std::string_view name) const {
  return prefix.empty() ? std::string(name) : prefix + "/" + std::string(name);
}

std::string S3Location::url() const { return "s3://" + bucket + (prefix.empty() ? "" : "/" + prefix); }

bool is_s3_url(std::string_view text) { return text.starts_with("s3://"); }

namespace {

bool has_control(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return true;
  return false;
}

}  // namespace

S3Location parse_s3_url(std::string_view url) {
  if (!is_s3_url(url)) throw InvalidArgument("not an S3 location: '" + std::string(url) + "' (expected s3://bucket/prefix)");
  std::string_view rest = url.substr(5);
  const size_t slash = rest.find('/');
  S3Location loc;
  loc.bucket = std::string(rest.substr(0, slash));
  std::string_view prefix = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
  while (prefix.ends_with('/')) prefix.remove_suffix(1);
  loc.prefix = std::string(prefix);
  const auto bad_bucket = [&](const std::string& why) {
    return InvalidArgument("bad bucket name '" + loc.bucket + "' in " + std::string(url) + ": " + why);
  };
  if (loc.bucket.size() < 3 || loc.bucket.size() > 63) throw bad_bucket("must be 3 to 63 characters");
  for (char c : loc.bucket)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
      throw bad_bucket("only lowercase letters, digits, '.' and '-' are allowed");
  if (loc.bucket.front() == '-' || loc.bucket.front() == '.' || loc.bucket.back() == '-' || loc.bucket.back() == '.')
    throw bad_bucket("must start and end with a letter or digit");
  if (!loc.prefix.empty()) {
    if (loc.prefix.size() > 512) throw InvalidArgument("S3 prefix longer than 512 bytes in " + std::string(url));
    check_s3_key(loc.prefix);
  }
  return loc;
}

void check_s3_key(std::string_view key) {
  const auto bad = [&](const char* why) {
    return InvalidArgument("bad S3 object key '" + std::string(key.substr(0, 200)) + "': " + why);
  };
  if (key.empty() || key.size() > 1024) throw bad("must be 1 to 1024 bytes");
  if (has_control(key)) throw bad("contains a control character");
  size_t start = 0;
  while (true) {
    const size_t end = key.find('/', start);
    const std::string_view seg = key.substr(start, end == std::string_view::npos ? key.size() - start : end - start);
    if (seg.empty() || seg == "." || seg == "..") throw bad("has an empty, '.' or '..' path segment");
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
}

}  // namespace cdb
