// The PostgreSQL-protocol server: an Asio acceptor and a pool of I/O
// threads on one io_context, a separate pool of statement threads (one per
// allowed connection, so blocking statements such as TRAIN ... WAIT never
// starve the others), one Database shared by every session.
//
//   auto db = cartridgedb::Database::open(dir, {...});
//   cdb::server::Server server(*db, options);  // binds; throws if it cannot
//   server.run();                              // until SIGTERM / SIGINT or stop()
//
// Shutdown: stop accepting, tell idle sessions (FATAL 57P01) and close
// them, let running statements finish for shutdown_grace, then cancel what
// still runs; run() returns when every connection is gone, and the caller
// then closes the Database.
#pragma once

#include <memory>

#include "cartridgedb/cartridgedb.h"
#include "server/server_options.h"

namespace cdb::server {

class Server {
 public:
  Server(cartridgedb::Database& db, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  uint16_t port() const;
  void run();
  // From any thread (or a signal): begins the shutdown described above.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cdb::server
