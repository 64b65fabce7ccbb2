// One authenticated connection's query protocol: Simple Query (several
// statements per message) and the extended protocol (Parse, Bind,
// Describe, Execute, Sync, Close, Flush) with named and unnamed prepared
// statements and portals, the skip-until-Sync error recovery, and the
// transaction status that ReadyForQuery reports.
//
// The language has no transactions; BEGIN / COMMIT / ROLLBACK are accepted
// so that drivers which open one implicitly (psycopg, libpqxx) work, and
// they only track the status (an error inside a block makes it 'E' until
// ROLLBACK, as PostgreSQL does). Every statement takes effect at once.
//
// Session is Asio-free and blocking: handle() runs on a statement thread,
// executes statements through the embedded API and writes replies through
// the sink (a blocking write to the socket).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "cartridgedb/cartridgedb.h"
#include "server/message_writer.h"
#include "server/pg_settings.h"
#include "server/sqlstate.h"

namespace cdb::server {

struct SessionOptions {
  std::chrono::milliseconds statement_timeout{0};  // 0: none
  // Raised by the server when shutting down past its grace period: running
  // statements stop and the session ends with 57P01.
  std::shared_ptr<const std::atomic<bool>> terminate;
  // Minimum time between two training-progress notices of one statement.
  std::chrono::milliseconds progress_interval{500};
  // Who the session acts as: the authenticated user's role and quotas.
  cartridgedb::SessionIdentity identity;
  // Log each statement to stderr (cut at 4 KiB): what a driver really
  // sends. `cartridge serve` sets it from CDB_LOG_STATEMENTS=1; off by
  // default, since statements carry documents and questions.
  bool log_statements = false;
  // The StartupMessage's options (application_name, client_encoding,
  // DateStyle, ...): the session's parameters start from them.
  std::map<std::string, std::string> startup_parameters;
  // After each statement run through the engine (ServerOptions::on_statement).
  std::function<void(const std::string& statement, bool ok)> on_statement;
};

// Thrown by a sink that can no longer write: the client is gone, so no
// error can be reported to it.
class ConnectionLost : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Session {
 public:
  using Sink = std::function<void(std::string&& bytes)>;

  Session(cartridgedb::Database& db, Sink sink, SessionOptions options);

  // One frontend message after authentication. Returns false when the
  // connection must close (Terminate, or a fatal error already reported).
  bool handle(char type, std::string_view body);
  // Sends the buffered replies.
  void flush();
  // A message the connection did not read (its body was skipped, e.g. over
  // the memory budget): reports `error` as handle() reports a failed
  // message, so the client carries on. A Query is answered with
  // ReadyForQuery; in the extended protocol the rest up to Sync is skipped.
  void refuse(char type, const ErrorInfo& error);

  // Raised by a CancelRequest; cleared when a statement starts.
  std::shared_ptr<std::atomic<bool>> cancel_flag() const { return cancel_; }
  char transaction_status() const { return tx_status_; }

 private:
  struct Prepared {
    std::string text;                // one statement, or empty
    std::vector<int32_t> param_types;  // one per $n (0: unspecified)
  };
  struct Portal {
    std::string text;  // parameters substituted
    std::vector<int16_t> result_formats;
    bool executed = false;
    std::optional<cartridgedb::Result> result;  // none: empty query or transaction control
    std::string tag;
    size_t rows_sent = 0;
  };
  enum class CancelReason { None, User, Timeout, Shutdown };

  bool simple_query(std::string_view body);
  void parse(std::string_view body);
  void bind(std::string_view body);
  void describe(std::string_view body);
  void execute(std::string_view body);
  void close(std::string_view body);
  void sync();

  // Runs one statement (transaction control included) and returns its
  // command tag; `result` gets its table when it has one.
  std::string run(std::string_view text, std::optional<cartridgedb::Result>& result);
  cartridgedb::Result run_engine(std::string_view text);
  // The columns `text` returns (and their types), without running it.
  cartridgedb::Result describe_statement(std::string_view text);
  // SET / RESET / SHOW of a parameter this session keeps: its command tag,
  // or nullopt when `text` is none of these (`translated` then gets the
  // SQLite form of a PostgreSQL-dialect SELECT, else stays empty).
  std::optional<std::string> run_parameter_statement(std::string_view text,
                                                     std::optional<cartridgedb::Result>& result,
                                                     std::string& translated, std::string& show_name);
  void write_rows(const cartridgedb::Result& r, size_t from, size_t to, const std::vector<int16_t>& formats);
  void ensure_executed(Portal& p);
  // Reports the exception being handled as ErrorResponse; false when the
  // session must end (a fatal error).
  bool report_error(std::string_view query = {}, size_t statement_offset = 0);
  void progress_notice(const cartridgedb::Progress& p);

  std::unique_ptr<cartridgedb::Session> sql_;  // this connection's SET values
  PgSettings pg_;                               // its PostgreSQL run-time parameters
  Sink sink_;
  SessionOptions options_;
  MessageWriter out_;
  std::shared_ptr<std::atomic<bool>> cancel_ = std::make_shared<std::atomic<bool>>(false);
  std::atomic<CancelReason> cancel_reason_{CancelReason::None};
  char tx_status_ = 'I';
  bool skip_until_sync_ = false;
  std::map<std::string, Prepared> statements_;
  std::map<std::string, Portal> portals_;
  std::chrono::steady_clock::time_point last_notice_{};
  std::string last_notice_state_;
};

}  // namespace cdb::server
