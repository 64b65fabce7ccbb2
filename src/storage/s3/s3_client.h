// S3Client: the object operations the blob store needs, against any
// S3-compatible endpoint (AWS S3, MinIO, Ceph RGW, R2, s3rver), over
// libcurl. libcurl signs every request (SigV4, CURLOPT_AWS_SIGV4); the
// payload hash it signs is ours (x-amz-content-sha256, OpenSSL's SHA-256),
// so S3 checks every body it receives.
//
// Contract:
//  - Every request is bounded in time (S3Options: connect and request
//    timeouts) and retried with jittered exponential backoff on what may
//    pass: 5xx, 429, S3's 400 RequestTimeout, timeouts and connection
//    errors. Other 4xx answers are final at once.
//  - Errors are typed and name the object (s3://bucket/key), the HTTP
//    status and S3's error code: NotFound (404), PermissionDenied (403:
//    bad or expired credentials, with what to check), IoError (the endpoint
//    unreachable or failing after every retry, an answer we cannot read).
//    Credentials never appear in a message.
//  - Every response body we buffer is bounded: object bytes by the size
//    asked for (a range, or the size the first range reported), listings
//    and error bodies by S3Options::max_list_bytes / max_error_bytes.
//  - Keys are checked (check_s3_key) and percent-encoded; the client
//    addresses one bucket.
//
// Thread-safe: requests on different threads run on different pooled
// connections. Large PUTs are multipart uploads whose parts go up in
// parallel; large GETs are ranged GETs in parallel into one buffer.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/s3/curl_handle.h"
#include "storage/s3/s3_options.h"

namespace cdb {

struct S3Object {
  std::string key;
  uint64_t size = 0;
  std::string etag;
  int64_t last_modified = 0;  // unix seconds (listings only)
};

class S3Client {
 public:
  explicit S3Client(S3Options options);
  ~S3Client();
  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;

  const S3Options& options() const { return options_; }
  // "s3://bucket/key", for messages.
  std::string describe(std::string_view key) const;

  // Stores `bytes` under `key` (replacing it): one PUT, or a multipart
  // upload above options().multipart_threshold (aborted if it fails, so
  // no parts are left behind).
  void put(std::string_view key, std::string_view bytes);
  // The whole object: one GET, or, if the object is larger than
  // range_bytes, parallel ranges. NotFound when absent.
  std::string get(std::string_view key);
  // `size` bytes from `offset` into dst, in one GET. IoError if the object
  // is shorter.
  void get_range_into(std::string_view key, uint64_t offset, char* dst, size_t size);
  // Bytes [0, size) of the object into dst, in ranges of range_bytes over
  // up to `connections` connections at once. `size` is what the caller
  // knows the object to be (a catalog row); a shorter object is IoError.
  void get_parallel_into(std::string_view key, char* dst, size_t size);
  // Size and ETag, or nullopt when absent.
  std::optional<S3Object> head(std::string_view key);
  // Server-side copy of `from` to `to` (CopyObject; objects up to 5 GB).
  // NotFound when `from` is absent.
  void copy(std::string_view from, std::string_view to);
  // Deletes the object; absent is no error (S3 answers 204 either way).
  void remove(std::string_view key);
  // Every object whose key starts with `prefix`, in key order, page by
  // page (ListObjectsV2 with continuation tokens, list_page_keys a page).
  // The first `limit` of them when limit > 0.
  void list(std::string_view prefix, const std::function<void(const S3Object&)>& fn, size_t limit = 0);
  std::vector<S3Object> list(std::string_view prefix);

  // The multipart steps put() uses, for callers that stream.
  std::string create_multipart(std::string_view key);
  // Returns the part's ETag. Parts are numbered from 1.
  std::string upload_part(std::string_view key, const std::string& upload_id, int part, std::string_view bytes);
  void complete_multipart(std::string_view key, const std::string& upload_id, const std::vector<std::string>& etags);
  void abort_multipart(std::string_view key, const std::string& upload_id);

  // Requests sent, retries included (for tests and the bench).
  uint64_t requests() const { return requests_.load(); }
  int list_page_keys = 1000;

 private:
  struct Request;
  struct Response;
  Response perform(const Request& req);
  Response perform_once(CURL* curl, const Request& req, CURLcode& rc, std::string& transport_error);
  // Bytes [from, to) into dst + from, in parallel ranges.
  void get_ranges_into(std::string_view key, char* dst, uint64_t from, uint64_t to);
  [[noreturn]] void fail(const Request& req, const Response& resp) const;
  void fail_on_error_body(const Request& req, Response resp) const;
  std::string url(std::string_view key, const std::string& query) const;
  CurlEasy acquire();
  void release(CurlEasy curl);

  S3Options options_;
  std::string sigv4_;
  std::mutex pool_mu_;
  std::vector<CurlEasy> pool_;
  std::atomic<uint64_t> requests_{0};
};

}  // namespace cdb
