// What `cartridge serve` configures.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace cdb::server {

enum class AuthMethod { Scram, Trust };

// Messages whose body is at least this long count against
// ServerOptions::max_message_memory and are read straight into their final
// buffer; shorter ones are too small to matter.
inline constexpr size_t kBudgetedMessageBytes = 64u << 10;

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 5433;  // 0: any free port (Server::port() tells which)
  AuthMethod auth = AuthMethod::Scram;
  std::string users_file;           // required for SCRAM; with trust, optional (roles of listed users)
  // LOAD FILE / LOAD DIRECTORY: superusers read only inside it; empty: no
  // remote session reads server files (docs/server.md, "Security model").
  std::string load_root;
  // Log every statement to stderr (CDB_LOG_STATEMENTS=1): to see what a
  // driver sends. Off by default: statements carry documents.
  bool log_statements = false;
  std::string tls_cert, tls_key;    // both or neither (PEM files)
  // A document is at most 16 MiB (DocumentLimits::max_file_bytes); a
  // message needs a little more for the statement around it.
  size_t max_message_bytes = 17u << 20;
  // Bytes of message bodies of kBudgetedMessageBytes or more that all
  // connections may hold at once (0: no budget). Past it such a message is
  // refused with 53200 and its connection goes on; each held byte costs a
  // few more while a statement is built from it, so this bounds the
  // server's peak memory where the per-message limit alone would not.
  size_t max_message_memory = 128u << 20;
  int max_connections = 100;
  // Connections that have not finished authentication yet; more are
  // refused at once (53300), so idle sockets cannot hold every descriptor.
  // 0: as many as max_connections (a burst of that many clients gets in).
  int max_startup_connections = 0;
  int io_threads = 2;
  std::chrono::milliseconds idle_timeout{0};       // 0: none
  std::chrono::milliseconds statement_timeout{0};  // 0: none
  // From accept to the end of authentication (TLS and SCRAM included).
  std::chrono::milliseconds startup_timeout{10000};
  // SIGTERM: how long running statements may finish before they are cancelled.
  std::chrono::milliseconds shutdown_grace{5000};
  // Called after each statement a session runs through the engine, with
  // its kind ("ASK", "SHOW JOBS"; "error" when it failed), from the
  // statement's thread: how `--http`'s /metrics counts the PostgreSQL
  // side's statements without this library knowing of metrics.
  std::function<void(const std::string& statement, bool ok)> on_statement;
  // The fleet's cluster secret (--cluster-secret-file; docs/scale-out.md,
  // "Routing"): peers log in as cartridgedb::node_principal() with the
  // password derived from it, acting for a user they name. Empty: node
  // logins are refused like an unknown user's.
  std::string cluster_secret;
};

}  // namespace cdb::server
