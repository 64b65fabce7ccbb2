#include "server/connection.h"

#include <sys/socket.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstring>
#include <map>

#include "server/message_reader.h"
#include "server/message_writer.h"
#include "server/scram.h"
#include "server/session.h"
#include "server/sqlstate.h"

namespace asio = boost::asio;
using asio::use_awaitable;

namespace cdb::server {

namespace {

constexpr int32_t kProtocol3 = 3 << 16;
constexpr int32_t kSslRequest = 80877103;
constexpr int32_t kCancelRequest = 80877102;
constexpr int32_t kGssEncRequest = 80877104;
// PostgreSQL's own limits for the startup packet and authentication replies.
constexpr size_t kMaxStartupPacket = 10000;
constexpr size_t kMaxAuthMessage = 10000;

// Runs f() on the pool while the coroutine waits on `strand`, and returns
// its result (or rethrows its exception). The completion is signalled by
// cancelling a timer on the strand, so that no coroutine handler crosses
// threads (Boost 1.74's awaitable handlers, destroyed on a pool thread
// after resuming the coroutine elsewhere, corrupted the heap).
template <class R, class F>
asio::awaitable<R> on_pool(asio::thread_pool& pool, const Connection::Strand& strand, F f) {
  asio::steady_timer done(strand, asio::steady_timer::time_point::max());
  std::exception_ptr error;
  R result{};
  asio::post(pool, [&, strand_copy = strand] {
    try {
      result = f();
    } catch (...) {
      error = std::current_exception();
    }
    // Nothing of the coroutine's frame is touched after this post: it may
    // resume (and end) as soon as the timer is cancelled. The strand is
    // this lambda's own copy for the same reason.
    asio::post(strand_copy, [&done] { done.cancel(); });
  });
  boost::system::error_code ec;
  co_await done.async_wait(asio::redirect_error(use_awaitable, ec));
  if (error) std::rethrow_exception(error);
  co_return result;
}

ErrorInfo fatal_error(const char* code, std::string message) {
  ErrorInfo e;
  e.severity = "FATAL";
  e.code = code;
  e.message = std::move(message);
  return e;
}

}  // namespace

std::optional<MessageHold> MessageHold::take(std::atomic<size_t>& held, size_t n, size_t limit) {
  size_t now = held.load();
  do {
    if (limit > 0 && (n > limit || now > limit - n)) return std::nullopt;
  } while (!held.compare_exchange_weak(now, now + n));
  MessageHold h;
  h.held_ = &held;
  h.n_ = n;
  return h;
}

MessageHold& MessageHold::operator=(MessageHold&& o) noexcept {
  if (this != &o) {
    release();
    held_ = std::exchange(o.held_, nullptr);
    n_ = o.n_;
  }
  return *this;
}

void MessageHold::release() {
  if (held_) held_->fetch_sub(n_);
  held_ = nullptr;
}

Connection::Connection(ServerState& state, asio::ip::tcp::socket socket, Strand strand)
    : state_(state), socket_(std::move(socket)), strand_(std::move(strand)), timer_(strand_) {}

void Connection::arm_timer(std::chrono::milliseconds timeout) {
  timer_.cancel();
  timed_out_ = false;
  if (timeout.count() <= 0) return;
  timer_.expires_after(timeout);
  timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->busy_) return;
    self->timed_out_ = true;
    boost::system::error_code ignored;
    self->socket_.cancel(ignored);
  });
}

void Connection::drain() {
  asio::post(strand_, [self = shared_from_this()] {
    if (self->busy_) return;
    boost::system::error_code ignored;
    self->socket_.cancel(ignored);
  });
}

void Connection::force_close() {
  asio::post(strand_, [self = shared_from_this()] {
    // shutdown(2) rather than close: a statement thread may be inside a
    // blocking write on this descriptor, which must fail, not be reused.
    if (self->socket_.is_open()) ::shutdown(self->socket_.native_handle(), SHUT_RDWR);
  });
}

asio::awaitable<size_t> Connection::read_some() {
  char chunk[16384];
  const size_t n = tls_ ? co_await tls_->async_read_some(asio::buffer(chunk), use_awaitable)
                        : co_await socket_.async_read_some(asio::buffer(chunk), use_awaitable);
  if (in_pos_ > 0 && in_pos_ == in_.size()) {
    in_.clear();
    in_pos_ = 0;
  }
  in_.append(chunk, n);
  co_return n;
}

asio::awaitable<void> Connection::fill(size_t n) {
  while (in_.size() - in_pos_ < n) co_await read_some();
}

std::string Connection::take(size_t n) {
  std::string out = in_.substr(in_pos_, n);
  in_pos_ += n;
  if (in_pos_ == in_.size()) {
    in_.clear();
    in_pos_ = 0;
  }
  return out;
}

asio::awaitable<void> Connection::write(std::string bytes) {
  if (tls_)
    co_await asio::async_write(*tls_, asio::buffer(bytes), use_awaitable);
  else
    co_await asio::async_write(socket_, asio::buffer(bytes), use_awaitable);
}

void Connection::write_blocking(std::string&& bytes) {
  boost::system::error_code ec;
  if (tls_)
    asio::write(*tls_, asio::buffer(bytes), ec);
  else
    asio::write(socket_, asio::buffer(bytes), ec);
  if (ec) throw ConnectionLost("cannot write to the client: " + ec.message());
}

asio::awaitable<Connection::Frame> Connection::read_frame(size_t max_body) {
  co_await fill(5);
  const char type = in_[in_pos_];
  const size_t len = body_length(in_.data() + in_pos_ + 1, type, max_body);
  co_await fill(5 + len);
  in_pos_ += 5;
  co_return Frame{type, take(len), {}};
}

asio::awaitable<Connection::Frame> Connection::read_big(char type, size_t len) {
  Frame f{type, {}, {}};
  auto hold = MessageHold::take(state_.message_bytes, len, state_.options.max_message_memory);
  // Drops the first n buffered bytes.
  auto drop = [this](size_t n) {
    in_pos_ += n;
    if (in_pos_ == in_.size()) {
      in_.clear();
      in_pos_ = 0;
    }
  };
  // The idle timeout applies to each read, as between messages: a slow
  // upload that makes progress is not cut off.
  if (!hold) {
    // Skipped through in_ a chunk at a time: refusing costs no memory.
    f.refusal = "out of memory: a message of " + std::to_string(len) +
                " bytes does not fit in what the server keeps for messages in flight (" +
                std::to_string(state_.message_bytes.load()) + " of " +
                std::to_string(state_.options.max_message_memory) + " bytes in use); try again later";
    for (size_t left = len;;) {
      const size_t have = std::min(left, in_.size() - in_pos_);
      drop(have);
      left -= have;
      if (left == 0) break;
      arm_timer(state_.options.idle_timeout);
      co_await read_some();
    }
  } else {
    f.hold = std::move(*hold);
    f.body.resize(len);
    const size_t have = std::min(len, in_.size() - in_pos_);
    std::memcpy(f.body.data(), in_.data() + in_pos_, have);
    drop(have);
    // (An if, not ?: between two co_awaits: GCC 12 miscompiled that here.)
    for (size_t got = have; got < len;) {
      arm_timer(state_.options.idle_timeout);
      const auto rest = asio::buffer(f.body.data() + got, len - got);
      if (tls_)
        got += co_await tls_->async_read_some(rest, use_awaitable);
      else
        got += co_await socket_.async_read_some(rest, use_awaitable);
    }
  }
  timer_.cancel();
  co_return f;
}

asio::awaitable<void> Connection::fatal(const ErrorInfo& e) {
  MessageWriter w;
  write_error(w, e);
  co_await write(w.take());
}

asio::awaitable<void> Connection::run() {
  auto self = shared_from_this();
  bool admitted = false;
  std::optional<ErrorInfo> framing_error;
  // The accept loop counted this connection as starting; it stops counting
  // once startup() is over, however it ends.
  struct Starting {
    std::atomic<int>* n;
    void end() {
      if (n) --*n;
      n = nullptr;
    }
    ~Starting() { end(); }
  } starting{&state_.starting};
  try {
    arm_timer(state_.options.startup_timeout);
    admitted = co_await startup();
    starting.end();
    if (admitted) co_await serve();
  } catch (const MessageTooLarge& e) {
    framing_error = fatal_error(sqlstate::kProgramLimitExceeded, e.what());
  } catch (const ProtocolViolation& e) {
    framing_error = fatal_error(sqlstate::kProtocolViolation, e.what());
  } catch (...) {
    // The client went away or the socket failed: nothing to report to.
  }
  if (framing_error) co_await linger_close(*framing_error);
  if (admitted) --state_.sessions;
  timer_.cancel();
  boost::system::error_code ignored;
  socket_.close(ignored);
}

asio::awaitable<void> Connection::linger_close(const ErrorInfo& e) {
  // The rest of the stream cannot be framed. Report, stop sending, and read
  // what the client still sends for a moment: closing with unread bytes
  // would reset the connection and could drop the report on its way.
  try {
    co_await fatal(e);
    socket_.shutdown(asio::ip::tcp::socket::shutdown_send);
    arm_timer(std::chrono::seconds(2));
    for (;;) {
      co_await read_some();
      in_.clear();
      in_pos_ = 0;
    }
  } catch (...) {
  }
}

asio::awaitable<void> Connection::serve() {
  SessionOptions options;
  options.statement_timeout = state_.options.statement_timeout;
  options.on_statement = state_.options.on_statement;
  options.terminate = state_.terminate;
  options.identity = identity_;
  options.startup_parameters = startup_parameters_;
  options.log_statements = state_.options.log_statements;
  Session session(state_.db, [this](std::string&& b) { write_blocking(std::move(b)); }, std::move(options));
  const auto key = state_.cancels.add(session.cancel_flag());
  struct Unregister {
    CancelRegistry& registry;
    int32_t pid;
    ~Unregister() { registry.remove(pid); }
  } unregister{state_.cancels, key.pid};
  {
    MessageWriter w;
    w.begin('K').i32(key.pid).i32(key.secret).end();
    write_ready_for_query(w, 'I');
    co_await write(w.take());
  }
  for (;;) {
    std::vector<Frame> batch;
    // Complete messages already buffered go together to one statement
    // thread (a pipelined Parse/Bind/Describe/Execute/Sync is one hop).
    while (in_.size() - in_pos_ >= 5) {
      const char type = in_[in_pos_];
      const size_t len = body_length(in_.data() + in_pos_ + 1, type, state_.options.max_message_bytes);
      if (len >= kBudgetedMessageBytes) {
        // A big message goes alone, read straight into its own buffer.
        if (!batch.empty()) break;
        in_pos_ += 5;
        batch.push_back(co_await read_big(type, len));
        break;
      }
      if (in_.size() - in_pos_ < 5 + len) break;
      in_pos_ += 5;
      batch.push_back({type, take(len), {}});
    }
    if (batch.empty()) {
      if (state_.draining) break;
      arm_timer(state_.options.idle_timeout);
      bool aborted = false;
      try {
        co_await read_some();
      } catch (const boost::system::system_error& e) {
        if (e.code() != asio::error::operation_aborted) throw;
        aborted = true;  // the idle timer or a shutdown cancelled the read
      }
      timer_.cancel();
      if (aborted) {
        if (timed_out_ && !state_.draining)
          co_await fatal(fatal_error(sqlstate::kIdleSessionTimeout, "terminating connection due to idle-session timeout"));
        break;
      }
      continue;
    }
    busy_ = true;
    const bool keep = co_await on_pool<bool>(state_.statements, strand_, [&session, &batch] {
      for (auto& f : batch) {
        if (!f.refusal.empty()) {
          ErrorInfo e;
          e.code = sqlstate::kOutOfMemory;
          e.message = std::move(f.refusal);
          session.refuse(f.type, e);
          continue;
        }
        if (!session.handle(f.type, f.body)) return false;
        // Its memory goes back to the budget as soon as it is handled.
        f.body = std::string();
        f.hold.release();
      }
      session.flush();
      return true;
    });
    busy_ = false;
    if (!keep) co_return;  // the session said goodbye (Terminate or its own FATAL)
  }
  if (state_.draining)
    co_await fatal(fatal_error(sqlstate::kAdminShutdown, "terminating connection due to administrator command"));
}

asio::awaitable<bool> Connection::startup() {
  for (;;) {
    co_await fill(4);
    const uint32_t len = read_be32(in_.data() + in_pos_);
    if (len < 8 || len > kMaxStartupPacket) {
      co_await fatal(fatal_error(sqlstate::kProtocolViolation, "invalid length of startup packet"));
      co_return false;
    }
    co_await fill(len);
    in_pos_ += 4;
    const std::string body = take(len - 4);
    MessageReader r('\0', body);
    const int32_t code = r.i32();
    if (code == kSslRequest || code == kGssEncRequest) {
      if (in_pos_ != in_.size())  // bytes sent before our answer could be read in the clear
        throw ProtocolViolation("received unencrypted data after SSL request");
      const bool tls = code == kSslRequest && state_.tls && !tls_;
      co_await write(tls ? "S" : "N");
      if (tls) {
        tls_.emplace(socket_, *state_.tls);
        co_await tls_->async_handshake(asio::ssl::stream_base::server, use_awaitable);
      }
      continue;
    }
    if (code == kCancelRequest) {
      const int32_t pid = r.i32();
      const int32_t secret = r.i32();
      state_.cancels.cancel({pid, secret});
      co_return false;  // no reply: the protocol closes the connection
    }
    if ((code >> 16) != 3) {
      co_await fatal(fatal_error(sqlstate::kFeatureNotSupported,
                                 "unsupported frontend protocol " + std::to_string(code >> 16) + "." +
                                     std::to_string(code & 0xffff) + ": server supports 3.0"));
      co_return false;
    }
    std::map<std::string, std::string> params;
    std::vector<std::string> unknown_options;
    for (;;) {
      const std::string key(r.cstr());
      if (key.empty()) break;
      const std::string value(r.cstr());
      if (key.rfind("_pq_.", 0) == 0) unknown_options.push_back(key);
      params[key] = value;
    }
    r.finish();
    const std::string user = params["user"];
    if (user.empty()) {
      co_await fatal(fatal_error(sqlstate::kInvalidAuthorization, "no PostgreSQL user name specified in startup packet"));
      co_return false;
    }
    if (code != kProtocol3 || !unknown_options.empty()) {
      MessageWriter w;
      w.begin('v').i32(kProtocol3).i32(static_cast<int32_t>(unknown_options.size()));
      for (const auto& o : unknown_options) w.cstr(o);
      co_await write(w.end().take());
    }
    if (state_.draining) {
      co_await fatal(fatal_error("57P03", "the database system is shutting down"));
      co_return false;
    }
    if (++state_.sessions > state_.options.max_connections) {
      --state_.sessions;
      co_await fatal(fatal_error(sqlstate::kTooManyConnections, "sorry, too many clients already"));
      co_return false;
    }
    // A node login names the user it acts for; nobody else may
    // (node_login.h, docs/scale-out.md "Routing").
    const bool node_login = user == cartridgedb::node_principal();
    std::optional<std::string> act_as;
    std::string refused;
    try {
      act_as = cartridgedb::node_login_user(params["options"]);
    } catch (const std::exception& e) {
      refused = e.what();
    }
    if (refused.empty() && act_as && !node_login)
      refused = "only a cartridgedb node may act for another user (cartridgedb.act_as); log in as that user";
    if (refused.empty() && node_login && !act_as)
      refused = "a node login must name the user it acts for (-c cartridgedb.act_as=NAME)";
    if (!refused.empty()) {
      --state_.sessions;
      co_await fatal(fatal_error(sqlstate::kInvalidAuthorization, refused));
      co_return false;
    }
    bool ok = false;
    try {
      ok = co_await authenticate(user);
    } catch (...) {
      --state_.sessions;
      throw;
    }
    if (!ok) {
      --state_.sessions;
      co_return false;
    }
    // The session acts for the named user, with that user's role and grants,
    // as if it had logged in; it must exist here as on the relaying node.
    const std::string session_user = node_login ? *act_as : user;
    if (node_login && state_.users && !state_.users->entry(session_user)) {
      --state_.sessions;
      co_await fatal(fatal_error(sqlstate::kInvalidAuthorization,
                                 "node login for user \"" + session_user +
                                     "\": no such user on this node (give every node the same --users file)"));
      co_return false;
    }
    timer_.cancel();
    identity_ = session_identity(state_.users, session_user, state_.options.load_root);
    identity_.forwarded = node_login;
    startup_parameters_ = params;
    MessageWriter w;
    write_authentication(w, 0);
    const std::pair<const char*, std::string> status[] = {
        {"server_version", std::string("15.0 (cartridgedb ") + cartridgedb::version() + ")"},
        {"server_encoding", "UTF8"},
        {"client_encoding", "UTF8"},
        {"DateStyle", "ISO, MDY"},
        {"IntervalStyle", "postgres"},
        {"TimeZone", "UTC"},
        {"integer_datetimes", "on"},
        {"standard_conforming_strings", "on"},  // a backslash is ordinary, as in the language
        {"is_superuser", identity_.superuser ? "on" : "off"},
        {"session_authorization", session_user},
        {"application_name", params["application_name"]},
    };
    for (const auto& [k, v] : status) write_parameter_status(w, k, v);
    co_await write(w.take());
    co_return true;
  }
}

asio::awaitable<bool> Connection::authenticate(const std::string& user) {
  // The node principal proves the cluster secret whatever --auth says:
  // under trust, anyone on loopback could otherwise act for anyone.
  const bool node_login = user == cartridgedb::node_principal();
  if (state_.options.auth == AuthMethod::Trust && !node_login) co_return true;
  const ErrorInfo failed = fatal_error(sqlstate::kInvalidPassword, "password authentication failed for user \"" + user + "\"");
  {
    MessageWriter w;
    write_authentication(w, 10, std::string("SCRAM-SHA-256") + '\0' + '\0');
    co_await write(w.take());
  }
  Frame f = co_await read_frame(kMaxAuthMessage);
  if (f.type != 'p') throw ProtocolViolation("expected SASL response, got message type '" + std::string(1, f.type) + "'");
  MessageReader r('p', f.body);
  const std::string mechanism(r.cstr());
  if (mechanism != "SCRAM-SHA-256")
    throw ProtocolViolation("client selected an invalid SASL authentication mechanism: " + mechanism);
  const int32_t n = r.i32();
  if (n < 0) throw ProtocolViolation("SASL initial response without data");
  const std::string client_first(r.bytes(static_cast<size_t>(n)));
  r.finish();

  const auto secret = node_login ? state_.node_secret : state_.users ? state_.users->find(user) : std::nullopt;
  // An unknown user's made-up secret is the same each time, as a real one is.
  ScramExchange scram(secret, {}, secret ? std::nullopt : std::optional(mock_secret(state_.scram_key, user)));
  {
    MessageWriter w;
    write_authentication(w, 11, scram.first(client_first));
    co_await write(w.take());
  }
  f = co_await read_frame(kMaxAuthMessage);
  if (f.type != 'p') throw ProtocolViolation("expected SASL response, got message type '" + std::string(1, f.type) + "'");
  const auto server_final = scram.final(f.body);
  if (!server_final) {
    co_await fatal(failed);
    co_return false;
  }
  MessageWriter w;
  write_authentication(w, 12, *server_final);
  co_await write(w.take());
  co_return true;
}

}  // namespace cdb::server
