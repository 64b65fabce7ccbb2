// A Session on a `cartridge serve` over the PostgreSQL protocol (libpq):
// each statement is one simple query; rows come back as text; the server's
// notices (training progress) are shown as they arrive; Ctrl-C sends a
// CancelRequest.
#pragma once

#include <memory>
#include <string>

#include "shell/session.h"

struct pg_conn;
struct pg_result;

namespace cdb::shell {

// libpq connection keywords for `target`: "host:port", "host" (port 5433),
// ":port" (host 127.0.0.1), or a full libpq conninfo string ("host=...
// port=... user=...") passed through as is.
std::string conninfo_for(std::string_view target);

class RemoteSession : public Session {
 public:
  // Connects at once; IoError with libpq's message when that fails.
  explicit RemoteSession(const std::string& target);
  ~RemoteSession() override;
  cartridgedb::Result run(std::string_view statement, const StatementEvents& events) override;
  std::vector<std::string> corpus_names() override;
  std::string name() const override { return name_; }

 private:
  static void on_notice(void* self, const pg_result* notice);
  void wait_for_input(const StatementEvents& events, bool& cancel_sent);

  struct ConnDeleter {
    void operator()(pg_conn* c) const;
  };
  std::unique_ptr<pg_conn, ConnDeleter> conn_;
  std::string name_;
  const StatementEvents* events_ = nullptr;  // while run() waits: where notices go
};

}  // namespace cdb::shell
