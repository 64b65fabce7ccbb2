// RAII owners of libcurl's two handle types an S3 request uses: an easy
// handle (one connection's worth of state, reused between requests so that
// its connection stays open) and a header list.
#pragma once

#include <curl/curl.h>

#include <memory>

namespace cdb {

struct CurlEasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
using CurlEasy = std::unique_ptr<CURL, CurlEasyDeleter>;

// A curl_slist that frees itself; append() keeps the head on success and
// leaves the list unchanged if libcurl runs out of memory.
class CurlHeaders {
 public:
  CurlHeaders() = default;
  ~CurlHeaders() { curl_slist_free_all(list_); }
  CurlHeaders(const CurlHeaders&) = delete;
  CurlHeaders& operator=(const CurlHeaders&) = delete;
  bool append(const char* line) {
    curl_slist* next = curl_slist_append(list_, line);
    if (!next) return false;
    list_ = next;
    return true;
  }
  curl_slist* get() const { return list_; }

 private:
  curl_slist* list_ = nullptr;
};

}  // namespace cdb
