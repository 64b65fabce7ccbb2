// One client connection on Asio: the startup phase (SSLRequest and the TLS
// handshake, CancelRequest, StartupMessage, SCRAM or trust
// authentication), then the message loop. Reads run in a coroutine on the
// connection's strand; each batch of complete messages goes to a
// statement thread, where the Session handles it and writes its replies
// with blocking writes (nothing else touches the socket meanwhile), so a
// long ASK never holds an I/O thread.
#pragma once

#include <atomic>
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "cartridgedb/cartridgedb.h"
#include "server/cancel_registry.h"
#include "server/server_options.h"
#include "server/users.h"

namespace cdb::server {

class MessageWriter;
struct ErrorInfo;

// A claim on bytes of the in-flight message budget
// (ServerOptions::max_message_memory), given back when destroyed.
class MessageHold {
 public:
  MessageHold() = default;
  // Takes `n` bytes of `held` unless that would pass `limit` (0: none).
  static std::optional<MessageHold> take(std::atomic<size_t>& held, size_t n, size_t limit);
  MessageHold(MessageHold&& o) noexcept : held_(std::exchange(o.held_, nullptr)), n_(o.n_) {}
  MessageHold& operator=(MessageHold&& o) noexcept;
  ~MessageHold() { release(); }
  void release();

 private:
  std::atomic<size_t>* held_ = nullptr;
  size_t n_ = 0;
};

// What all connections of one server share; owned by Server.
struct ServerState {
  cartridgedb::Database& db;
  const ServerOptions& options;
  boost::asio::ssl::context* tls = nullptr;  // null: TLS not configured
  const UserFile* users = nullptr;           // secrets and roles; null: trust without --users
  CancelRegistry cancels;
  boost::asio::thread_pool& statements;
  std::atomic<int> sessions{0};
  std::atomic<bool> draining{false};
  std::shared_ptr<std::atomic<bool>> terminate = std::make_shared<std::atomic<bool>>(false);
  std::atomic<int> starting{0};          // accepted, not yet through startup()
  std::atomic<size_t> message_bytes{0};  // held by MessageHolds
  std::string scram_key{};               // the server secret (server_secret.h)
  // The node principal's SCRAM secret, from the cluster secret; none: node
  // logins fail as an unknown user's do.
  std::optional<ScramSecret> node_secret;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;

  Connection(ServerState& state, boost::asio::ip::tcp::socket socket, Strand strand);

  boost::asio::awaitable<void> run();
  // From any thread: a connection waiting for a message is told the server
  // is shutting down and closed; a busy one closes after its batch.
  void drain();
  // From any thread: ends the connection even mid-statement.
  void force_close();
  const Strand& strand() const { return strand_; }

 private:
  struct Frame {
    char type;
    std::string body;
    MessageHold hold{};   // a big body's share of the budget
    std::string refusal{};  // over the budget: why; the body was skipped, not read
  };

  boost::asio::awaitable<bool> startup();  // false: the connection ends
  boost::asio::awaitable<void> serve();    // the session's message loop
  boost::asio::awaitable<bool> authenticate(const std::string& user);
  boost::asio::awaitable<void> fill(size_t n);  // until n unread bytes are buffered
  boost::asio::awaitable<size_t> read_some();
  boost::asio::awaitable<void> write(std::string bytes);
  boost::asio::awaitable<Frame> read_frame(size_t max_body);
  // The body of a message of at least kBudgetedMessageBytes whose header
  // was just consumed: read straight into its final buffer (no copy
  // through in_), or skipped with a refusal when the budget is full.
  boost::asio::awaitable<Frame> read_big(char type, size_t len);
  boost::asio::awaitable<void> fatal(const ErrorInfo& e);
  boost::asio::awaitable<void> linger_close(const ErrorInfo& e);
  std::string take(size_t n);
  void write_blocking(std::string&& bytes);
  void arm_timer(std::chrono::milliseconds timeout);

  ServerState& state_;
  boost::asio::ip::tcp::socket socket_;
  Strand strand_;
  std::optional<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> tls_;
  boost::asio::steady_timer timer_;
  std::string in_;
  size_t in_pos_ = 0;
  bool busy_ = false;       // a batch runs on a statement thread
  bool timed_out_ = false;  // the idle or startup timer fired
  cartridgedb::SessionIdentity identity_;  // the authenticated user's role, set by startup()
  std::map<std::string, std::string> startup_parameters_;  // the StartupMessage's options
};

}  // namespace cdb::server
