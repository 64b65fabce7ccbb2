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
#include <csignal>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "server/connection.h"

namespace asio = boost::asio;
using asio::ip::tcp;

namespace cdb::server {

struct Server::Impl {
  Impl(cartridgedb::Database& db, ServerOptions o)
      : options(std::move(o)),
        statements(static_cast<size_t>(std::max(1, options.max_connections))),
        state{db, options, nullptr, nullptr, {}, statements},
        acceptor(io),
        signals(io, SIGTERM, SIGINT),
        grace_timer(io) {}

  ServerOptions options;
  asio::io_context io;
  asio::thread_pool statements;
  std::optional<asio::ssl::context> tls;
  std::optional<UserFile> users;
  ServerState state;
  tcp::acceptor acceptor;
  asio::signal_set signals;
  asio::steady_timer grace_timer;
  std::mutex mu;
  std::vector<std::weak_ptr<Connection>> connections;

  asio::awaitable<void> accept_loop() {
    for (;;) {
      tcp::socket socket(io);
      boost::system::error_code ec;
      co_await acceptor.async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      if (ec) continue;  // e.g. EMFILE: the client is refused, the server goes on
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
  const ServerOptions& o = s.options;
  if (o.tls_cert.empty() != o.tls_key.empty()) throw std::invalid_argument("give both --tls-cert and --tls-key");
  if (!o.tls_cert.empty()) {
    s.tls.emplace(asio::ssl::context::tls_server);
    s.tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
    s.tls->use_certificate_chain_file(o.tls_cert);
    s.tls->use_private_key_file(o.tls_key, asio::ssl::context::pem);
    s.state.tls = &*s.tls;
  }
  const auto address = asio::ip::make_address(o.host);
  if (o.auth == AuthMethod::Trust && !address.is_loopback())
    throw std::invalid_argument("trust authentication is only allowed on a loopback address, not " + o.host);
  if (o.auth == AuthMethod::Scram && o.users_file.empty())
    throw std::invalid_argument("SCRAM authentication needs a users file (--users FILE)");
  if (!o.users_file.empty()) {  // with trust too: it gives the listed users their roles
    s.users = UserFile::load(o.users_file);
    s.state.users = &*s.users;
  }
  const tcp::endpoint endpoint(address, o.port);
  s.acceptor.open(endpoint.protocol());
  s.acceptor.set_option(tcp::acceptor::reuse_address(true));
  s.acceptor.bind(endpoint);
  s.acceptor.listen(asio::socket_base::max_listen_connections);
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
