// What `cartridge serve` configures.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace cdb::server {

enum class AuthMethod { Scram, Trust };

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 5433;  // 0: any free port (Server::port() tells which)
  AuthMethod auth = AuthMethod::Scram;
  std::string users_file;           // required for SCRAM; with trust, optional (roles of listed users)
  // LOAD FILE / LOAD DIRECTORY: superusers read only inside it; empty: no
  // remote session reads server files (docs/server.md, "Security model").
  std::string load_root;
  std::string tls_cert, tls_key;    // both or neither (PEM files)
  size_t max_message_bytes = 64u << 20;
  int max_connections = 100;
  int io_threads = 2;
  std::chrono::milliseconds idle_timeout{0};       // 0: none
  std::chrono::milliseconds statement_timeout{0};  // 0: none
  std::chrono::milliseconds startup_timeout{60000};
  // SIGTERM: how long running statements may finish before they are cancelled.
  std::chrono::milliseconds shutdown_grace{5000};
};

}  // namespace cdb::server
