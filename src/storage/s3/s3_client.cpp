#include "storage/s3/s3_client.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <random>
#include <thread>

#include "common/error.h"
#include "storage/s3/s3_url.h"
#include "storage/s3/s3_xml.h"

namespace cdb {

namespace {

// curl_global_init is not thread-safe and must run before any other curl
// call; call_once makes it so. It is process-wide by libcurl's design (it
// initializes OpenSSL), so this one piece of global state is libcurl's, and
// it is never cleaned up: other threads may still hold handles at exit.
void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw IoError("libcurl failed to initialize");
  });
}

std::string sha256_hex(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr) != 1)
    throw IoError("SHA-256 of an S3 request body failed (OpenSSL)");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

// RFC 3986 percent-encoding as SigV4 wants it: unreserved bytes kept, '/'
// kept in paths (S3 does not double-encode the path), everything else %XX.
std::string uri_encode(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~' || (keep_slash && c == '/')) {
      out += char(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// A query string in SigV4's canonical form (names sorted, values encoded),
// so that what libcurl signs is exactly what it sends: curl 7.88 signs the
// query as written.
std::string canonical_query(std::vector<std::pair<std::string, std::string>> params) {
  std::sort(params.begin(), params.end());
  std::string q;
  for (const auto& [k, v] : params) {
    if (!q.empty()) q += '&';
    q += uri_encode(k, false) + "=" + uri_encode(v, false);
  }
  return q;
}

bool retryable_transport(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

// Runs fn(0..n-1) on up to `threads` threads (this one included); the
// first exception stops the others taking more and is rethrown.
void parallel_for(size_t n, int threads, const std::function<void(size_t)>& fn) {
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  std::exception_ptr error;
  std::mutex error_mu;
  const auto worker = [&] {
    for (size_t i; !stop.load() && (i = next.fetch_add(1)) < n;) {
      try {
        fn(i);
      } catch (...) {
        std::lock_guard lock(error_mu);
        if (!error) error = std::current_exception();
        stop = true;
      }
    }
  };
  std::vector<std::thread> pool;
  const size_t count = std::min<size_t>(n, static_cast<size_t>(std::max(threads, 1)));
  for (size_t i = 1; i < count; ++i) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

// "2026-12-03T15:47:33.000Z" as unix seconds; 0 when unreadable.
int64_t parse_iso8601(const std::string& text) {
  std::tm tm{};
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec) != 6)
    return 0;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm));
}

}  // namespace

struct S3Client::Request {
  const char* method = "GET";
  std::string key;
  bool bucket = false;  // addresses the bucket (a listing), not the object `key`
  std::string query;  // canonical_query(), without '?'
  std::string_view body;
  std::string range;  // "bytes=A-B", or ""
  std::string copy_source;  // CopyObject's x-amz-copy-source, or ""
  // Object bytes go here (at most dst_cap of them); any other body, into
  // Response::body, at most max_body bytes.
  char* dst = nullptr;
  size_t dst_cap = 0;
  size_t max_body = 0;
  bool body_content_type = false;  // send Content-Type: application/octet-stream
  // A 2xx answer longer than max_body is stopped at its headers and returned
  // (too_large, content_length) instead of failing: get() then fetches it
  // in parallel ranges.
  bool size_probe = false;
};

struct S3Client::Response {
  long status = 0;
  std::string body;
  size_t received = 0;  // bytes written to Request::dst
  bool too_large = false;
  std::string etag, content_range;
  uint64_t content_length = 0;
  std::string code, message;  // S3's <Code> and <Message> of an error
};

S3Client::S3Client(S3Options options) : options_(std::move(options)) {
  init_curl_once();
  if (options_.bucket.empty()) throw InvalidArgument("S3 client: no bucket given");
  if (options_.region.empty()) throw InvalidArgument("S3 client: empty region");
  if (options_.endpoint.empty()) options_.endpoint = "https://s3." + options_.region + ".amazonaws.com";
  while (options_.endpoint.ends_with('/')) options_.endpoint.pop_back();
  if (!options_.endpoint.starts_with("http://") && !options_.endpoint.starts_with("https://"))
    throw InvalidArgument("S3 endpoint '" + options_.endpoint + "' must start with http:// or https://");
  // A wildcard certificate (*.s3.amazonaws.com) covers one label: a dotted
  // bucket in the host name fails TLS verification, which is AWS's own
  // advice against virtual-host addressing for such buckets.
  if (options_.virtual_host && options_.endpoint.starts_with("https://") &&
      options_.bucket.find('.') != std::string::npos)
    throw InvalidArgument("bucket '" + options_.bucket +
                          "' has dots, which TLS cannot verify in a virtual-host name; use --s3-addressing path");
  if (options_.connections < 1) options_.connections = 1;
  if (options_.range_bytes < 1) throw InvalidArgument("S3 range size must be at least 1 byte");
  if (options_.part_bytes < 1) throw InvalidArgument("S3 part size must be at least 1 byte");
  if (options_.retries < 0) options_.retries = 0;
  sigv4_ = "aws:amz:" + options_.region + ":s3";
}

S3Client::~S3Client() = default;

std::string S3Client::describe(std::string_view key) const {
  return "s3://" + options_.bucket + (key.empty() ? "" : "/" + std::string(key));
}

std::string S3Client::url(std::string_view key, const std::string& query) const {
  std::string u;
  if (options_.virtual_host) {
    const size_t scheme_end = options_.endpoint.find("://") + 3;
    u = options_.endpoint.substr(0, scheme_end) + options_.bucket + "." + options_.endpoint.substr(scheme_end) + "/" +
        uri_encode(key, true);
  } else {
    u = options_.endpoint + "/" + options_.bucket;
    if (!key.empty()) u += "/" + uri_encode(key, true);
  }
  if (!query.empty()) u += "?" + query;
  return u;
}

CurlEasy S3Client::acquire() {
  {
    std::lock_guard lock(pool_mu_);
    if (!pool_.empty()) {
      CurlEasy c = std::move(pool_.back());
      pool_.pop_back();
      return c;
    }
  }
  CurlEasy c(curl_easy_init());
  if (!c) throw IoError("libcurl could not create a handle (out of memory?)");
  return c;
}

void S3Client::release(CurlEasy curl) {
  std::lock_guard lock(pool_mu_);
  pool_.push_back(std::move(curl));
}

namespace {

struct Transfer {
  CURL* curl;
  char* dst;
  size_t dst_cap;
  size_t max_body;
  S3Client* self;
  void* resp;  // S3Client::Response*
  std::string_view upload;
  size_t upload_pos = 0;
  bool size_probe = false;
};

}  // namespace

S3Client::Response S3Client::perform_once(CURL* curl, const Request& req, CURLcode& rc, std::string& transport_error) {
  Response resp;
  curl_easy_reset(curl);
  Transfer t{curl, req.dst, req.dst_cap, req.max_body, this, &resp, req.body, 0, req.size_probe};

  CurlHeaders headers;
  const std::string payload_hash = "x-amz-content-sha256: " + sha256_hex(req.body);
  headers.append(payload_hash.c_str());
  std::string token, range;
  if (!options_.credentials.session_token.empty()) {
    token = "x-amz-security-token: " + options_.credentials.session_token;
    headers.append(token.c_str());
  }
  if (!req.range.empty()) {
    range = "Range: " + req.range;
    headers.append(range.c_str());
  }
  if (req.body_content_type) headers.append("Content-Type: application/octet-stream");
  std::string copy;
  if (!req.copy_source.empty()) {
    copy = "x-amz-copy-source: " + req.copy_source;
    headers.append(copy.c_str());
  }

  const std::string u = url(req.key, req.query);
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, u.c_str());
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // timeouts without SIGALRM: we run on many threads
  curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, options_.connect_timeout_ms);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, options_.request_timeout_ms);
  curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 512L * 1024);
  // A large body waits for S3's "100 Continue" (so that a refusal costs no
  // upload), but not the full second by default if a proxy never sends it.
  // (Suppressing it with an empty "Expect:" header instead would be wrong:
  // curl 7.88 then signs an "expect" header that it does not send.)
  curl_easy_setopt(curl, CURLOPT_EXPECT_100_TIMEOUT_MS, 300L);
  curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, sigv4_.c_str());
  curl_easy_setopt(curl, CURLOPT_USERNAME, options_.credentials.access_key.c_str());
  curl_easy_setopt(curl, CURLOPT_PASSWORD, options_.credentials.secret_key.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);

  const std::string_view method = req.method;
  if (method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (method == "PUT") {
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    curl_easy_setopt(curl, CURLOPT_UPLOAD_BUFFERSIZE, 2L * 1024 * 1024);
    curl_easy_setopt(curl, CURLOPT_READDATA, &t);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, +[](char* buf, size_t size, size_t n, void* p) -> size_t {
      auto* t = static_cast<Transfer*>(p);
      const size_t take = std::min(size * n, t->upload.size() - t->upload_pos);
      std::memcpy(buf, t->upload.data() + t->upload_pos, take);
      t->upload_pos += take;
      return take;
    });
  } else if (method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  } else if (method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req.method);
  }

  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, +[](char* data, size_t size, size_t n, void* p) -> size_t {
    auto* t = static_cast<Transfer*>(p);
    auto* r = static_cast<Response*>(t->resp);
    const size_t bytes = size * n;
    long status = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
    if (t->dst && status >= 200 && status < 300) {
      if (bytes > t->dst_cap - r->received) {
        r->too_large = true;
        return 0;  // aborts the transfer
      }
      std::memcpy(t->dst + r->received, data, bytes);
      r->received += bytes;
      return bytes;
    }
    if (bytes > t->max_body - r->body.size()) {
      r->too_large = true;
      return 0;
    }
    r->body.append(data, bytes);
    return bytes;
  });
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, +[](char* data, size_t size, size_t n, void* p) -> size_t {
    auto* t = static_cast<Transfer*>(p);
    auto* r = static_cast<Response*>(t->resp);
    const std::string_view line(data, size * n);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return size * n;
    std::string name(line.substr(0, colon));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.remove_suffix(1);
    if (value.size() > 1024) return size * n;  // no header we read is that long
    if (name == "etag") r->etag = value;
    else if (name == "content-range") r->content_range = value;
    else if (name == "content-length") {
      r->content_length = std::strtoull(std::string(value).c_str(), nullptr, 10);
      long status = 0;
      curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
      if (t->size_probe && status >= 200 && status < 300 && r->content_length > t->max_body) {
        r->too_large = true;
        return 0;  // aborts before any of the body is read
      }
    }
    return size * n;
  });

  requests_.fetch_add(1);
  rc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp.status);
  if (rc != CURLE_OK) transport_error = errbuf[0] ? errbuf : curl_easy_strerror(rc);
  if (resp.status >= 300 && !resp.body.empty()) {
    resp.code = xml_text(resp.body, "Code").value_or("");
    resp.message = xml_text(resp.body, "Message").value_or("");
  }
  return resp;
}

S3Client::Response S3Client::perform(const Request& req) {
  if (!req.bucket) check_s3_key(req.key);
  std::mt19937_64 rng{std::random_device{}()};
  std::string last;
  const int tries = options_.retries + 1;
  for (int attempt = 0; attempt < tries; ++attempt) {
    if (attempt > 0) {
      // Full jitter: clients retrying together spread out instead of
      // hitting a recovering server in step.
      const long cap = std::min(options_.backoff_max_ms, options_.backoff_base_ms << std::min(attempt - 1, 20));
      std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<long>(0, std::max(0L, cap))(rng)));
    }
    CurlEasy curl = acquire();
    CURLcode rc = CURLE_OK;
    std::string transport_error;
    Response resp = perform_once(curl.get(), req, rc, transport_error);
    if (rc != CURLE_OK) {
      // A failed transfer may leave the connection half-read: drop it.
      curl.reset();
      if (resp.too_large && req.size_probe && resp.status >= 200 && resp.status < 300) return resp;
      if (resp.too_large) {
        if (req.dst && resp.status >= 200 && resp.status < 300)
          throw IoError("S3 " + std::string(req.method) + " " + describe(req.key) + ": the endpoint sent more than the " +
                        std::to_string(req.dst_cap) + " bytes asked for");
        if (resp.status >= 200 && resp.status < 300)
          throw IoError("S3 " + std::string(req.method) + " " + describe(req.key) + ": the answer is larger than the " +
                        std::to_string(req.max_body) + "-byte limit");
        // An error body past the limit: its head (Code, Message) is what we keep.
        resp.code = xml_text(resp.body, "Code").value_or("");
        resp.message = xml_text(resp.body, "Message").value_or("");
      } else {
        last = transport_error;
        if (retryable_transport(rc)) continue;
        throw IoError("S3 " + std::string(req.method) + " " + describe(req.key) + " via " + options_.endpoint + ": " +
                      transport_error);
      }
    } else {
      release(std::move(curl));
    }
    const bool retry_status = resp.status >= 500 || resp.status == 429 ||
                              (resp.status == 400 && resp.code == "RequestTimeout");
    if (retry_status) {
      last = "HTTP " + std::to_string(resp.status) + (resp.code.empty() ? "" : " " + resp.code);
      continue;
    }
    return resp;
  }
  throw IoError("S3 " + std::string(req.method) + " " + describe(req.key) + " via " + options_.endpoint + " failed after " +
                std::to_string(tries) + (tries == 1 ? " try" : " tries") + ": " + last);
}

void S3Client::fail(const Request& req, const Response& resp) const {
  std::string what = "S3 " + std::string(req.method) + " " + describe(req.key) + ": HTTP " + std::to_string(resp.status);
  if (!resp.code.empty()) what += " " + resp.code;
  if (!resp.message.empty()) what += " (" + resp.message.substr(0, 300) + ")";
  if (resp.status == 404) {
    if (resp.code == "NoSuchBucket")
      throw NotFound(what + ": bucket '" + options_.bucket + "' does not exist at " + options_.endpoint);
    throw NotFound(what);
  }
  if (resp.status == 403 || resp.status == 401)
    throw PermissionDenied(what + ": check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), "
                                  "the region (" + options_.region + ") and the bucket's policy");
  if (resp.status == 301 || resp.status == 307)
    throw IoError(what + ": the bucket lives elsewhere (wrong --s3-region or --s3-endpoint?)");
  throw IoError(what);
}

void S3Client::fail_on_error_body(const Request& req, Response resp) const {
  // CompleteMultipartUpload and CopyObject may answer 200 and then report a
  // failure in the body (the connection stays busy while they work).
  if (xml_elements(resp.body, "Error").empty()) return;
  resp.code = xml_text(resp.body, "Code").value_or("");
  resp.message = xml_text(resp.body, "Message").value_or("");
  resp.status = 500;
  fail(req, resp);
}

void S3Client::put(std::string_view key, std::string_view bytes) {
  if (bytes.size() <= options_.multipart_threshold) {
    Request req;
    req.method = "PUT";
    req.key = std::string(key);
    req.body = bytes;
    req.max_body = options_.max_error_bytes;
    req.body_content_type = true;
    Response resp = perform(req);
    if (resp.status != 200) fail(req, resp);
    return;
  }
  const std::string upload_id = create_multipart(key);
  try {
    const size_t parts = (bytes.size() + options_.part_bytes - 1) / options_.part_bytes;
    if (parts > 10000)
      throw InvalidArgument("S3 PUT " + describe(key) + ": " + std::to_string(parts) +
                            " parts exceed S3's 10000; raise the part size");
    std::vector<std::string> etags(parts);
    parallel_for(parts, options_.connections, [&](size_t i) {
      const size_t off = i * options_.part_bytes;
      etags[i] = upload_part(key, upload_id, static_cast<int>(i + 1),
                             bytes.substr(off, std::min(options_.part_bytes, bytes.size() - off)));
    });
    complete_multipart(key, upload_id, etags);
  } catch (...) {
    try {
      abort_multipart(key, upload_id);
    } catch (const std::exception&) {
      // The first failure is the one to report; an upload left behind is
      // removed by the bucket's AbortIncompleteMultipartUpload rule.
    }
    throw;
  }
}

std::string S3Client::create_multipart(std::string_view key) {
  Request req;
  req.method = "POST";
  req.key = std::string(key);
  req.query = canonical_query({{"uploads", ""}});
  req.max_body = options_.max_error_bytes;
  req.body_content_type = true;
  Response resp = perform(req);
  if (resp.status != 200) fail(req, resp);
  auto id = xml_text(resp.body, "UploadId");
  if (!id || id->empty()) throw IoError("S3 POST " + describe(key) + "?uploads: no UploadId in the answer");
  return *id;
}

std::string S3Client::upload_part(std::string_view key, const std::string& upload_id, int part, std::string_view bytes) {
  Request req;
  req.method = "PUT";
  req.key = std::string(key);
  req.query = canonical_query({{"partNumber", std::to_string(part)}, {"uploadId", upload_id}});
  req.body = bytes;
  req.max_body = options_.max_error_bytes;
  Response resp = perform(req);
  if (resp.status != 200) fail(req, resp);
  if (resp.etag.empty())
    throw IoError("S3 PUT " + describe(key) + " part " + std::to_string(part) + ": no ETag in the answer");
  return resp.etag;
}

void S3Client::complete_multipart(std::string_view key, const std::string& upload_id,
                                  const std::vector<std::string>& etags) {
  std::string xml = "<CompleteMultipartUpload>";
  for (size_t i = 0; i < etags.size(); ++i)
    xml += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" + xml_escape(etags[i]) + "</ETag></Part>";
  xml += "</CompleteMultipartUpload>";
  Request req;
  req.method = "POST";
  req.key = std::string(key);
  req.query = canonical_query({{"uploadId", upload_id}});
  req.body = xml;
  req.max_body = options_.max_error_bytes;
  Response resp = perform(req);
  if (resp.status != 200) fail(req, resp);
  fail_on_error_body(req, resp);
}

void S3Client::abort_multipart(std::string_view key, const std::string& upload_id) {
  Request req;
  req.method = "DELETE";
  req.key = std::string(key);
  req.query = canonical_query({{"uploadId", upload_id}});
  req.max_body = options_.max_error_bytes;
  Response resp = perform(req);
  if (resp.status != 204 && resp.status != 200 && resp.status != 404) fail(req, resp);
}

void S3Client::get_range_into(std::string_view key, uint64_t offset, char* dst, size_t size) {
  if (size == 0) return;
  Request req;
  req.method = "GET";
  req.key = std::string(key);
  req.range = "bytes=" + std::to_string(offset) + "-" + std::to_string(offset + size - 1);
  req.dst = dst;
  req.dst_cap = size;
  req.max_body = options_.max_error_bytes;
  Response resp = perform(req);
  if (resp.status != 206 && resp.status != 200) fail(req, resp);
  if (resp.status == 200 && offset != 0)
    throw IoError("S3 GET " + describe(key) + ": the endpoint ignored the Range header");
  if (resp.received != size)
    throw IoError("S3 GET " + describe(key) + " bytes " + std::to_string(offset) + "+" + std::to_string(size) + ": got " +
                  std::to_string(resp.received) + " bytes (the object is shorter than expected)");
}

void S3Client::get_parallel_into(std::string_view key, char* dst, size_t size) {
  if (size <= options_.range_bytes) return get_range_into(key, 0, dst, size);
  get_ranges_into(key, dst, 0, size);
}

void S3Client::get_ranges_into(std::string_view key, char* dst, uint64_t from, uint64_t to) {
  const size_t ranges = (to - from + options_.range_bytes - 1) / options_.range_bytes;
  parallel_for(ranges, options_.connections, [&](size_t i) {
    const uint64_t off = from + i * options_.range_bytes;
    get_range_into(key, off, dst + off, std::min<uint64_t>(options_.range_bytes, to - off));
  });
}

std::string S3Client::get(std::string_view key) {
  // A plain GET, not a first range: S3 refuses any range of an empty
  // object (416). Above range_bytes it stops at the headers, which gave the
  // size, and the object comes in parallel ranges.
  Request req;
  req.method = "GET";
  req.key = std::string(key);
  req.max_body = std::max(options_.range_bytes, options_.max_error_bytes);
  req.size_probe = true;
  Response resp = perform(req);
  if (resp.status != 200) fail(req, resp);
  if (!resp.too_large) return std::move(resp.body);
  std::string all(resp.content_length, '\0');
  get_parallel_into(key, all.data(), all.size());
  return all;
}

std::optional<S3Object> S3Client::head(std::string_view key) {
  Request req;
  req.method = "HEAD";
  req.key = std::string(key);
  req.max_body = options_.max_error_bytes;
  Response resp = perform(req);
  if (resp.status == 404) return std::nullopt;
  if (resp.status != 200) fail(req, resp);
  return S3Object{std::string(key), resp.content_length, resp.etag};
}

void S3Client::copy(std::string_view from, std::string_view to) {
  check_s3_key(from);
  Request req;
  req.method = "PUT";
  req.key = std::string(to);
  req.copy_source = "/" + options_.bucket + "/" + uri_encode(from, true);
  req.max_body = options_.max_error_bytes;
  Response resp = perform(req);
  if (resp.status == 404) {
    req.key = std::string(from);  // the missing one is the source
    fail(req, resp);
  }
  if (resp.status != 200) fail(req, resp);
  fail_on_error_body(req, resp);
}

void S3Client::remove(std::string_view key) {
  Request req;
  req.method = "DELETE";
  req.key = std::string(key);
  req.max_body = options_.max_error_bytes;
  Response resp = perform(req);
  if (resp.status != 204 && resp.status != 200 && resp.status != 404) fail(req, resp);
}

void S3Client::list(std::string_view prefix, const std::function<void(const S3Object&)>& fn, size_t limit) {
  std::string token;
  size_t seen = 0;
  while (true) {
    size_t page = static_cast<size_t>(std::max(list_page_keys, 1));
    if (limit > 0) page = std::min(page, limit - seen);
    std::vector<std::pair<std::string, std::string>> params = {
        {"list-type", "2"}, {"max-keys", std::to_string(page)}, {"prefix", std::string(prefix)}};
    if (!token.empty()) params.emplace_back("continuation-token", token);
    Request req;
    req.method = "GET";
    req.bucket = true;
    req.query = canonical_query(std::move(params));
    req.max_body = options_.max_list_bytes;
    Response resp = perform(req);
    if (resp.status != 200) fail(req, resp);
    for (std::string_view item : xml_elements(resp.body, "Contents")) {
      S3Object o;
      o.key = xml_text(item, "Key").value_or("");
      o.size = std::strtoull(xml_text(item, "Size").value_or("0").c_str(), nullptr, 10);
      o.etag = xml_text(item, "ETag").value_or("");
      o.last_modified = parse_iso8601(xml_text(item, "LastModified").value_or(""));
      if (o.key.empty()) throw IoError("S3 list " + describe(std::string(prefix)) + ": an entry without a key");
      fn(o);
      if (limit > 0 && ++seen >= limit) return;
    }
    if (xml_text(resp.body, "IsTruncated").value_or("false") != "true") return;
    std::string next = xml_text(resp.body, "NextContinuationToken").value_or("");
    if (next.empty() || next == token)
      throw IoError("S3 list " + describe(std::string(prefix)) + ": a truncated page without a new continuation token");
    token = std::move(next);
  }
}

std::vector<S3Object> S3Client::list(std::string_view prefix) {
  std::vector<S3Object> out;
  list(prefix, [&](const S3Object& o) { out.push_back(o); });
  return out;
}

}  // namespace cdb
