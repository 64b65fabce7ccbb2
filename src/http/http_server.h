// HttpServer: the OpenAI-compatible HTTP/1.1 API (docs/http.md) beside the
// PostgreSQL listener, over the same Database: its sessions, roles, grants
// and batch.
//
//   cdb::http::HttpServer http(*db, options);  // binds; throws if it cannot
//   http.start();                              // accepts on its own thread
//   ...
//   http.stop();                               // or the destructor
//
// One thread per connection with blocking Beast calls: a connection's
// thread reads a request, answers it (a completion's choices run on threads
// of their own, see CompletionHandler) and reads the next. Threads are
// bounded by max_connections (a connection over it gets 503 and is closed);
// every blocking read and write has a deadline (ConnectionWatchdog), so an
// idle or stalled client costs one parked thread for at most the idle time.
//
// Every request is authenticated (Authorization: Bearer KEY from the users
// file's API keys), /health and /ready included; --auth trust (loopback only)
// lets requests without a key act as a superuser.
//
// stop(): no new connections; every socket is shut down, which cancels what
// its requests still run (their clients are gone); returns when all
// connection threads have ended.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "cartridgedb/cartridgedb.h"
#include "http/http_options.h"
#include "http/metrics_registry.h"

namespace cdb::http {

class HttpServer {
 public:
  // Engine figures for /metrics, sampled at each scrape (see MetricsRegistry).
  using Sampler = std::function<std::vector<MetricsRegistry::Sample>()>;

  HttpServer(cartridgedb::Database& db, HttpOptions options, Sampler sampler = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  uint16_t port() const;
  const std::string& model_id() const;
  void start();
  void stop();
  MetricsRegistry& metrics();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cdb::http
