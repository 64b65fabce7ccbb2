#include "server/server.h"

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "server/connection.h"
#include "server/listener.h"
#include "server/message_writer.h"
#include "server/server_secret.h"
#include "server/sqlstate.h"

namespace asio = boost::asio;
using asio::ip::tcp;

namespace cdb::server {

namespace {

// accept() errors that mean the process or the system is out of
// descriptors or memory: retrying at once would fail again at once.
bool out_of_resources(const boost::system::error_code& ec) {
  return ec == asio::error::no_descriptors || ec == boost::system::errc::too_many_files_open_in_system ||
         ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
}

// A connection over --max-startup-connections: told why (53300) with one
// non-blocking send, and closed. Nothing waits on it, so a flood of them
// costs a descriptor for an instant each.
void refuse(tcp::socket& socket) {
  ErrorInfo e;
  e.severity = "FATAL";
  e.code = sqlstate::kTooManyConnections;
  e.message = "sorry, too many connections are still starting up; try again later";
  MessageWriter w;
  write_error(w, e);
  const std::string bytes = w.take();
  (void)::send(socket.native_handle(), bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  boost::system::error_code ignored;
  socket.close(ignored);
}

// The address to listen on: a literal as it is, a host name resolved
// (its first IPv4 address, else its first IPv6 one). Errors name `host`.
// Every connection holds a descriptor, and the server needs some of its
// own (the data directory, the model, epoll): raises the soft limit up to
// the hard one where that is short, and says so where even that is short,
// since the accept loop would then spend its time backing off.
void ensure_descriptors(const ServerOptions& o) {
  constexpr rlim_t kOwnUse = 64;
  const rlim_t wanted = static_cast<rlim_t>(o.max_connections) + static_cast<rlim_t>(o.max_startup_connections) + kOwnUse;
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= wanted) return;
  const rlim_t raised = lim.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, lim.rlim_max);
  if (raised > lim.rlim_cur) {
    rlimit more = lim;
    more.rlim_cur = raised;
    if (::setrlimit(RLIMIT_NOFILE, &more) == 0) lim = more;
  }
  if (lim.rlim_cur < wanted)
    std::fprintf(stderr,
                 "cartridge serve: warning: %llu file descriptors (ulimit -n) for up to %d sessions and %d starting "
                 "connections; raise the limit or lower --max-connections / --max-startup-connections\n",
                 static_cast<unsigned long long>(lim.rlim_cur), o.max_connections, o.max_startup_connections);
}

}  // namespace

struct Server::Impl {
  Impl(cartridgedb::Database& db, ServerOptions o)
      : options(std::move(o)),
        statements(static_cast<size_t>(std::max(1, options.max_connections))),
        state{db, options, nullptr, nullptr, {}, statements},
        acceptor(io),
        accept_backoff(io),
        signals(io, SIGTERM, SIGINT),
        grace_timer(io) {}

  ServerOptions options;
  asio::io_context io;
  asio::thread_pool statements;
  std::optional<asio::ssl::context> tls;
  std::optional<UserFile> users;
  ServerState state;
  tcp::acceptor acceptor;
  asio::steady_timer accept_backoff;
  asio::signal_set signals;
  asio::steady_timer grace_timer;
  std::mutex mu;
  std::vector<std::weak_ptr<Connection>> connections;

  asio::awaitable<void> accept_loop() {
    // Out of descriptors, the listening socket stays readable and accept()
    // fails at once, so retrying at once spins: wait 100 ms, doubling to
    // 1 s, until one is free (a connection ends), and log once per episode.
    std::chrono::milliseconds backoff{0};
    for (;;) {
      tcp::socket socket(io);
      boost::system::error_code ec;
      co_await acceptor.async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      if (ec && out_of_resources(ec)) {
        if (backoff.count() == 0)
          std::fprintf(stderr, "cartridge serve: cannot accept connections (%s); retrying after pauses growing to 1 s\n",
                       ec.message().c_str());
        backoff = std::clamp(backoff * 2, std::chrono::milliseconds(100), std::chrono::milliseconds(1000));
        accept_backoff.expires_after(backoff);
        co_await accept_backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (!acceptor.is_open()) co_return;
        continue;
      }
      if (ec) continue;  // this client is gone (ECONNABORTED, ...); the next one may be fine
      if (backoff.count() > 0) std::fprintf(stderr, "cartridge serve: accepting connections again\n");
      backoff = std::chrono::milliseconds(0);
      if (state.starting.load() >= options.max_startup_connections) {
        refuse(socket);
        continue;
      }
      ++state.starting;  // the Connection counts it down when its startup ends
      socket.set_option(tcp::no_delay(true), ec);
      auto strand = asio::make_strand(io);
      auto conn = std::make_shared<Connection>(state, std::move(socket), strand);
      {
        std::lock_guard lock(mu);
        std::erase_if(connections, [](const auto& w) { return w.expired(); });
        connections.push_back(conn);
      }
      asio::co_spawn(strand, [conn]() { return conn->run(); }, asio::detached);
    }
  }

  template <class F>
  void for_each_connection(F f) {
    std::lock_guard lock(mu);
    for (auto& w : connections)
      if (auto c = w.lock()) f(*c);
  }

  size_t live_connections() {
    std::lock_guard lock(mu);
    std::erase_if(connections, [](const auto& w) { return w.expired(); });
    return connections.size();
  }

  void begin_shutdown() {
    if (state.draining.exchange(true)) return;
    boost::system::error_code ignored;
    acceptor.close(ignored);
    signals.cancel(ignored);
    for_each_connection([](Connection& c) { c.drain(); });
    asio::co_spawn(io, watch_shutdown(), asio::detached);
  }

  // Until every connection is gone: past the grace period running
  // statements are cancelled, and two seconds later sockets are shut.
  asio::awaitable<void> watch_shutdown() {
    const auto cancel_at = std::chrono::steady_clock::now() + options.shutdown_grace;
    const auto force_at = cancel_at + std::chrono::seconds(2);
    while (live_connections() > 0) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= cancel_at) state.terminate->store(true);
      if (now >= force_at) for_each_connection([](Connection& c) { c.force_close(); });
      grace_timer.expires_after(std::chrono::milliseconds(50));
      co_await grace_timer.async_wait(asio::use_awaitable);
    }
  }
};

Server::Server(cartridgedb::Database& db, ServerOptions options)
    : impl_(std::make_unique<Impl>(db, std::move(options))) {
  Impl& s = *impl_;
  if (s.options.max_startup_connections == 0) s.options.max_startup_connections = s.options.max_connections;
  const ServerOptions& o = s.options;
  if (o.tls_cert.empty() != o.tls_key.empty()) throw std::invalid_argument("give both --tls-cert and --tls-key");
  if (!o.tls_cert.empty()) {
    use_server_tls(s.tls, o.tls_cert, o.tls_key);
    s.state.tls = &*s.tls;
  }
  if (o.max_message_memory > 0 && o.max_message_memory < o.max_message_bytes)
    throw std::invalid_argument("--max-message-memory (" + std::to_string(o.max_message_memory) +
                                ") must be at least --max-message-size (" + std::to_string(o.max_message_bytes) +
                                "), or 0 for no budget");
  if (o.max_startup_connections < 1) throw std::invalid_argument("--max-startup-connections must be at least 1");
  if (o.startup_timeout.count() <= 0) throw std::invalid_argument("--startup-timeout must be positive");
  ensure_descriptors(o);
  const auto address = listen_address(s.io, o.host);
  if (o.auth == AuthMethod::Trust && !address.is_loopback())
    throw std::invalid_argument("trust authentication is only allowed on a loopback address, not " + o.host);
  if (o.auth == AuthMethod::Scram && o.users_file.empty())
    throw std::invalid_argument("SCRAM authentication needs a users file (--users FILE)");
  if (!o.users_file.empty()) {  // with trust too: it gives the listed users their roles
    s.users = UserFile::load(o.users_file);
    s.state.users = &*s.users;
    s.state.scram_key = load_or_create_server_secret(o.users_file + ".secret");
  }
  if (!o.cluster_secret.empty()) {
    const std::string principal = cartridgedb::node_principal();
    if (s.users && s.users->entry(principal))
      throw std::invalid_argument("the users file " + o.users_file + " lists '" + principal +
                                  "', the name nodes log in to each other as; remove that entry");
    // A fresh salt each start: a peer reads it in the exchange.
    s.state.node_secret = ScramSecret::from_password(cartridgedb::node_password(o.cluster_secret));
  }
  const tcp::endpoint endpoint(address, o.port);
  open_acceptor(s.acceptor, endpoint, o.host);
}

Server::~Server() {
  // Connections hold references into the state: they must be gone first.
  impl_->io.stop();
  impl_->statements.join();
}

uint16_t Server::port() const { return impl_->acceptor.local_endpoint().port(); }

void Server::run() {
  Impl& s = *impl_;
  s.signals.async_wait([&s](boost::system::error_code ec, int) {
    if (!ec) s.begin_shutdown();
  });
  asio::co_spawn(s.io, s.accept_loop(), asio::detached);
  std::vector<std::thread> threads;
  for (int i = 1; i < std::max(1, s.options.io_threads); ++i) threads.emplace_back([&s] { s.io.run(); });
  s.io.run();
  for (auto& t : threads) t.join();
  s.statements.join();
}

void Server::stop() {
  asio::post(impl_->io, [s = impl_.get()] { s->begin_shutdown(); });
}

}  // namespace cdb::server
