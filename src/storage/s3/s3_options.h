// S3Options: how an S3Client reaches its bucket, and how long it waits.
//
// Defaults are short on purpose: a loopback or same-region endpoint answers
// a request in milliseconds, so a connect that takes 3 s means the endpoint
// is down, and the retries (4 more tries, jittered exponential backoff from
// 100 ms capped at 2 s) ride out a restarting server or a throttle burst in
// a few seconds. The worst case of one operation is bounded: (retries + 1)
// x (connect + request timeout) + the backoffs. Tests set them shorter.
//
// Credentials come from the environment as every AWS tool reads them
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN); they are
// passed to libcurl, which signs (SigV4), and are never printed.
#pragma once

#include <cstddef>
#include <string>

namespace cdb {

struct S3Credentials {
  std::string access_key;
  std::string secret_key;
  std::string session_token;  // empty unless temporary credentials
  // From AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.
  // InvalidArgument naming the missing variable.
  static S3Credentials from_env();
};

struct S3Options {
  // "http://127.0.0.1:9000" (MinIO, s3rver, a proxy); empty means AWS:
  // https://s3.<region>.amazonaws.com.
  std::string endpoint;
  std::string region = "us-east-1";
  std::string bucket;
  // Path style (<endpoint>/<bucket>/<key>) works with every S3-compatible
  // server; virtual-host style (<bucket>.<endpoint host>/<key>) is what AWS
  // prefers for new buckets.
  bool virtual_host = false;
  S3Credentials credentials;

  long connect_timeout_ms = 3000;
  // One HTTP request, start to end. Requests carry at most one part or one
  // range (below), so this bounds a stalled transfer, not a large object.
  long request_timeout_ms = 30000;
  int retries = 4;  // tries after the first, on 5xx, 429, timeouts and connection errors
  long backoff_base_ms = 100;
  long backoff_max_ms = 2000;

  // PUT bodies above this go up as a multipart upload of part_bytes parts
  // (S3's minimum part is 5 MiB, its maximum part count 10000).
  size_t multipart_threshold = size_t{32} << 20;
  size_t part_bytes = size_t{16} << 20;
  // GETs above range_bytes are split into ranges fetched over `connections`
  // connections at once, into one buffer.
  size_t range_bytes = size_t{8} << 20;
  int connections = 8;

  // Bounds on what a response may make us buffer besides object bytes.
  size_t max_list_bytes = size_t{8} << 20;   // one ListObjectsV2 page
  size_t max_error_bytes = size_t{64} << 10; // an error body (only its Code and Message are kept)
};

}  // namespace cdb

namespace cdb {

// A Store's blobs on S3 (StoreOptions::s3_blobs, `--blobs s3://bucket/prefix`).
// Empty url: blobs stay in the local LMDB, as by default.
struct S3BlobsOptions {
  std::string url;  // s3://bucket/prefix
  S3Options s3;     // bucket is taken from url
  // The local LMDB becomes a read-through cache of at most this many blob
  // bytes, least recently used evicted first.
  size_t cache_bytes = size_t{8} << 30;
  bool enabled() const { return !url.empty(); }
};

}  // namespace cdb
