// What `cartridge serve --http HOST:PORT` configures: the listener, who may
// call it, and the bounds that keep hostile or broken clients from taking
// more than their share (docs/http.md, "Limits").
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace cdb::http {

struct HttpOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0: any free port (HttpServer::port() tells which)
  // true: trust, as the PostgreSQL listener's (loopback only): a valid key
  // acts as its user, any other key or none as a superuser.
  bool trust = false;
  std::string users_file;          // API keys and roles; required unless trust
  std::string load_root;           // as the PostgreSQL side's (server files)
  std::string tls_cert, tls_key;   // both or neither (PEM files)
  size_t max_body_bytes = 1u << 20;    // a larger body: 413
  size_t max_header_bytes = 16u << 10; // larger headers: 431
  int max_connections = 256;           // more: 503 at once, then closed
  // Completion choices being answered at once over HTTP; more: 503 with
  // Retry-After, so a flood waits at the client, not in the server's memory.
  int max_queue = 512;
  // Completion requests one user may have in flight; more: 429.
  int max_user_requests = 64;
  std::chrono::milliseconds idle_timeout{60000};     // between requests of a keep-alive connection
  std::chrono::milliseconds header_timeout{10000};   // to send a request's headers and body once started
  std::chrono::milliseconds request_timeout{0};      // an answer (0: none); past it 408
};

}  // namespace cdb::http
