#include "http/http_server.h"

#include <utility>  // before Asio: Boost 1.74's headers use std::exchange without it

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include "http/completion_handler.h"
#include "http/completion_request.h"
#include "http/connection_watchdog.h"
#include "http/http_error.h"
#include "server/listener.h"
#include "server/users.h"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;
using json = nlohmann::json;

namespace cdb::http {

namespace {

using Clock = std::chrono::steady_clock;

std::string json_text(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// The model's id in /v1/models: its recorded file name without ".bin"
// (stories260K), or a Hugging Face directory's name (Qwen3-0.6B).
std::string model_id_of(cartridgedb::Database& db) {
  auto session = db.new_session();
  const cartridgedb::Result r = session->execute("SHOW MODEL");
  for (const auto& row : r.rows)
    if (row.size() == 2 && row[0] == "path") {
      std::filesystem::path p(row[1]);
      if (p.filename().empty()) p = p.parent_path();
      std::string name = p.filename().string();
      if (name.size() > 4 && name.ends_with(".bin")) name.resize(name.size() - 4);
      return name;
    }
  return "cartridgedb";
}

std::string endpoint_label(std::string_view path) {
  if (path == "/v1/chat/completions") return "chat_completions";
  if (path == "/v1/completions") return "completions";
  if (path == "/v1/models" || path.starts_with("/v1/models/")) return "models";
  if (path == "/health") return "health";
  if (path == "/ready") return "ready";
  if (path == "/metrics") return "metrics";
  return "other";
}

struct Reply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  int retry_after_s = 0;
  bool www_authenticate = false;
  bool streamed = false;  // already written by a ResponseStream
  bool close = false;     // end the connection after it
};

Reply error_reply(const HttpError& e) {
  Reply r{e.status(), error_body(e)};
  r.retry_after_s = e.retry_after_s();
  r.www_authenticate = e.status() == 401;
  return r;
}

}  // namespace

struct HttpServer::Impl {
  Impl(cartridgedb::Database& d, HttpOptions o, Sampler s)
      : db(d), options(std::move(o)), sampler(std::move(s)), acceptor(io),
        model(model_id_of(d)), completions(d, options, metrics, model) {}

  cartridgedb::Database& db;
  HttpOptions options;
  Sampler sampler;
  asio::io_context io;
  tcp::acceptor acceptor;
  std::optional<asio::ssl::context> tls;
  std::optional<server::UserFile> users;
  MetricsRegistry metrics;
  std::string model;
  CompletionHandler completions;
  ConnectionWatchdog watchdog;
  std::thread accept_thread;
  std::atomic<bool> stopping{false};
  std::mutex mu;
  std::condition_variable all_gone;
  int live = 0;

  // ---- the accept loop -------------------------------------------------------

  void accept_loop() {
    while (!stopping.load()) {
      tcp::socket socket(io);
      boost::system::error_code ec;
      acceptor.accept(socket, ec);
      if (stopping.load()) return;
      if (ec) {
        // Out of descriptors accept() fails at once: pause rather than spin.
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        continue;
      }
      socket.set_option(tcp::no_delay(true), ec);
      bool over = false;
      {
        std::lock_guard lock(mu);
        over = live >= options.max_connections;
        if (!over) ++live;
      }
      if (over) {
        refuse(socket);
        continue;
      }
      std::thread([this, s = std::move(socket)]() mutable {
        serve_connection(std::move(s));
        std::lock_guard lock(mu);
        if (--live == 0) all_gone.notify_all();
      }).detach();
    }
  }

  // Over max_connections: 503 with one non-blocking send, and closed, so a
  // flood of connections costs an instant each, never a thread.
  void refuse(tcp::socket& socket) {
    const std::string body = error_body(HttpError(503, "server_error",
                                                  "too many connections (--http-max-connections " +
                                                      std::to_string(options.max_connections) + "); retry later",
                                                  "", "overloaded"));
    const std::string bytes = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
                              "Connection: close\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + body;
    (void)::send(socket.native_handle(), bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    metrics.count_request("other", 503);
    boost::system::error_code ignored;
    socket.close(ignored);
  }

  // ---- one connection ---------------------------------------------------------

  void serve_connection(tcp::socket socket) {
    const int fd = socket.native_handle();
    watchdog.watch(fd);
    try {
      if (tls) {
        asio::ssl::stream<tcp::socket> stream(std::move(socket), *tls);
        boost::system::error_code ec;
        watchdog.arm(fd, Clock::now() + options.header_timeout);
        stream.handshake(asio::ssl::stream_base::server, ec);
        watchdog.disarm(fd);
        if (!ec) {
          serve_requests(stream, fd);
          watchdog.arm(fd, Clock::now() + std::chrono::seconds(1));
          stream.shutdown(ec);
        }
        watchdog.forget(fd);
        stream.lowest_layer().close(ec);
        return;
      }
      serve_requests(socket, fd);
    } catch (const std::exception& e) {
      // A bug must cost one connection, never the server.
      std::fprintf(stderr, "cartridge serve: http connection ended by an error: %s\n", e.what());
    }
    watchdog.forget(fd);
    boost::system::error_code ec;
    socket.close(ec);
  }

  // Chunked, blocking writes with a deadline each; client_gone() by poll().
  template <class Stream>
  class ChunkedStream : public ResponseStream {
   public:
    // An HTTP/1.0 client knows no chunked coding: its stream is the raw
    // bytes, ended by closing the connection.
    ChunkedStream(Impl& s, Stream& stream, int fd, bool keep_alive, bool chunked)
        : s_(s), stream_(stream), fd_(fd), keep_(keep_alive && chunked), chunked_(chunked) {}
    bool begin_events() override {
      began_ = true;
      return send(std::string("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n") +
                  (chunked_ ? "Transfer-Encoding: chunked\r\n" : "") + "Server: cartridgedb\r\nConnection: " +
                  (keep_ ? "keep-alive" : "close") + "\r\n\r\n");
    }
    bool write(std::string_view bytes) override {
      if (bytes.empty()) return ok_;
      if (!chunked_) return send(std::string(bytes));
      char size[32];
      std::snprintf(size, sizeof size, "%zx\r\n", bytes.size());
      return send(std::string(size) + std::string(bytes) + "\r\n");
    }
    bool end() override { return chunked_ ? send("0\r\n\r\n") : ok_; }
    bool keeps_alive() const { return keep_; }
    bool client_gone() const override {
      pollfd p{fd_, POLLRDHUP, 0};
      return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
    }
    bool began() const { return began_; }
    bool ok() const { return ok_; }

   private:
    bool send(const std::string& bytes) {
      if (!ok_) return false;
      boost::system::error_code ec;
      s_.watchdog.arm(fd_, Clock::now() + s_.options.idle_timeout);
      asio::write(stream_, asio::buffer(bytes), ec);
      s_.watchdog.disarm(fd_);
      return ok_ = !ec;
    }
    Impl& s_;
    Stream& stream_;
    int fd_;
    bool keep_, chunked_;
    bool began_ = false, ok_ = true;
  };

  template <class Stream>
  void serve_requests(Stream& stream, int fd) {
    beast::flat_buffer buffer;
    bool first = true;
    while (!stopping.load()) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
      parser.body_limit(options.max_body_bytes);
      boost::system::error_code ec;
      // A keep-alive connection waits at most idle_timeout for its next
      // request, and the first one header_timeout: either way the whole
      // request must arrive by then (a client trickling bytes gets no more).
      watchdog.arm(fd, Clock::now() + (first ? options.header_timeout : options.idle_timeout));
      first = false;
      bhttp::read_header(stream, buffer, parser, ec);
      if (!ec) {
        auto& h = parser.get();
        if (beast::iequals(h[bhttp::field::expect], "100-continue")) {
          static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
          asio::write(stream, asio::buffer(kContinue), ec);
        }
        if (!ec && !parser.is_done()) bhttp::read(stream, buffer, parser, ec);
      }
      watchdog.disarm(fd);
      const Clock::time_point received = Clock::now();
      if (ec) {
        std::optional<HttpError> err;
        if (ec == bhttp::error::body_limit)
          err = HttpError(413, "invalid_request_error",
                          "the body is larger than " + std::to_string(options.max_body_bytes) +
                              " bytes (--http-max-body-size)",
                          "", "too_large");
        else if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow)
          err = HttpError(431, "invalid_request_error",
                          "the request's headers are larger than " + std::to_string(options.max_header_bytes) +
                              " bytes (--http-max-header-size)",
                          "", "headers_too_large");
        else if (&ec.category() == &bhttp::make_error_code(bhttp::error::bad_target).category() &&
                 ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message)
          err = HttpError(400, "invalid_request_error", "malformed HTTP request: " + ec.message(), "", "bad_request");
        if (err) {
          Reply r = error_reply(*err);
          r.close = true;
          write_reply(stream, fd, r, false);
          metrics.count_request("other", err->status());
          linger_close(stream, fd);
        }
        return;
      }
      auto& req = parser.get();
      const bool keep_alive = req.keep_alive() && !stopping.load();
      ChunkedStream<Stream> events(*this, stream, fd, keep_alive, req.version() >= 11);
      const std::string target(req.target());
      const std::string path = target.substr(0, target.find('?'));
      Reply r;
      try {
        r = route(req, path, events, received);
      } catch (const HttpError& e) {
        r = error_reply(e);
      } catch (const cartridgedb::Error& e) {
        r = error_reply(from_engine_error(e));
      } catch (const std::exception& e) {
        r = error_reply(HttpError(500, "server_error", e.what(), "", "internal"));
      }
      metrics.count_request(endpoint_label(path), r.status);
      if (events.began()) {
        if (!events.ok() || !events.keeps_alive()) return;
        continue;
      }
      if (!write_reply(stream, fd, r, keep_alive && !r.close) || !keep_alive || r.close) return;
    }
  }

  template <class Stream>
  bool write_reply(Stream& stream, int fd, const Reply& r, bool keep_alive) {
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(r.status), 11};
    res.set(bhttp::field::server, "cartridgedb");
    res.set(bhttp::field::content_type, r.content_type);
    if (r.retry_after_s > 0) res.set(bhttp::field::retry_after, std::to_string(r.retry_after_s));
    if (r.www_authenticate) res.set(bhttp::field::www_authenticate, "Bearer");
    res.keep_alive(keep_alive);
    res.body() = r.body;
    res.prepare_payload();
    boost::system::error_code ec;
    watchdog.arm(fd, Clock::now() + options.idle_timeout);
    bhttp::write(stream, res, ec);
    watchdog.disarm(fd);
    return !ec;
  }

  // After an error that leaves a request unread: stop sending, read what
  // the client still sends for up to a second, then close, so that it
  // reads our answer rather than a reset.
  template <class Stream>
  void linger_close(Stream& stream, int fd) {
    boost::system::error_code ec;
    ::shutdown(fd, SHUT_WR);
    watchdog.arm(fd, Clock::now() + std::chrono::seconds(1));
    char sink[4096];
    size_t total = 0;
    while (!ec && total < (1u << 20)) total += stream.read_some(asio::buffer(sink), ec);
    watchdog.disarm(fd);
  }

  // ---- requests ---------------------------------------------------------------

  // The identity a request acts as; HttpError 401 when it has none.
  cartridgedb::SessionIdentity authenticate(const bhttp::request<bhttp::string_body>& req) {
    const auto auth = req[bhttp::field::authorization];
    std::string_view v(auth.data(), auth.size());
    if (v.size() > 7 && beast::iequals(beast::string_view(v.data(), 7), "Bearer ") && users)
      if (auto user = users->user_for_api_key(std::string(v.substr(7))))
        return server::session_identity(&*users, *user, options.load_root);
    // Trust verifies nothing, as the PostgreSQL listener's: SDKs always send
    // some key, so any other key (or none) acts as a superuser.
    if (options.trust) return server::session_identity(nullptr, "", options.load_root);
    if (auth.empty())
      throw HttpError(401, "invalid_request_error",
                      "no API key: send 'Authorization: Bearer KEY' (cartridge serve --users FILE --add-api-key NAME "
                      "makes one)",
                      "", "invalid_api_key");
    throw HttpError(401, "invalid_request_error", "the API key is not valid", "", "invalid_api_key");
  }

  json model_object() const {
    return {{"id", model}, {"object", "model"}, {"created", 0}, {"owned_by", "cartridgedb"}};
  }

  template <class Stream>
  Reply route(const bhttp::request<bhttp::string_body>& req, const std::string& path, ChunkedStream<Stream>& events,
              Clock::time_point received) {
    const bool get = req.method() == bhttp::verb::get;
    const bool post = req.method() == bhttp::verb::post;
    auto method_not_allowed = [&](const char* allowed) {
      return HttpError(405, "invalid_request_error", std::string("use ") + allowed + " for " + path, "",
                       "method_not_allowed");
    };
    const bool known = path == "/health" || path == "/ready" || path == "/metrics" || path == "/v1/models" ||
                       path.starts_with("/v1/models/") || path == "/v1/chat/completions" || path == "/v1/completions";
    const cartridgedb::SessionIdentity who = authenticate(req);  // before anything is revealed, even a 404
    if (!known)
      throw HttpError(404, "invalid_request_error",
                      "no endpoint " + path + " (see docs/http.md: /v1/models, /v1/chat/completions, "
                                              "/v1/completions, /health, /ready, /metrics)",
                      "", "unknown_url");
    if (path == "/health") {
      if (!get) throw method_not_allowed("GET");
      return {200, R"({"status":"ok"})"};
    }
    if (path == "/ready") {
      if (!get) throw method_not_allowed("GET");
      // The model is loaded and the store open once the Database is; a
      // server that is stopping is not ready for more.
      if (stopping.load()) return {503, R"({"status":"stopping"})"};
      return {200, json_text({{"status", "ready"}, {"model", model}})};
    }
    if (path == "/metrics") {
      if (!get) throw method_not_allowed("GET");
      Reply r{200, metrics.render(sampler ? sampler() : std::vector<MetricsRegistry::Sample>{})};
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      return r;
    }
    if (path == "/v1/models") {
      if (!get) throw method_not_allowed("GET");
      return {200, json_text({{"object", "list"}, {"data", json::array({model_object()})}})};
    }
    if (path.starts_with("/v1/models/")) {
      if (!get) throw method_not_allowed("GET");
      if (path.substr(11) != model)
        throw HttpError(404, "invalid_request_error",
                        "the model '" + path.substr(11) + "' does not exist; this server serves '" + model + "'",
                        "model", "model_not_found");
      return {200, json_text(model_object())};
    }
    if (!post) throw method_not_allowed("POST");
    const Endpoint endpoint = path == "/v1/chat/completions" ? Endpoint::Chat : Endpoint::Completion;
    const CompletionRequest request = parse_completion_request(req.body(), endpoint);
    const HttpAnswer a = completions.handle(request, who, events, received);
    Reply r{a.status, a.body};
    r.retry_after_s = a.retry_after_s;
    return r;
  }
};

HttpServer::HttpServer(cartridgedb::Database& db, HttpOptions options, Sampler sampler)
    : impl_(std::make_unique<Impl>(db, std::move(options), std::move(sampler))) {
  Impl& s = *impl_;
  const HttpOptions& o = s.options;
  if (o.tls_cert.empty() != o.tls_key.empty()) throw std::invalid_argument("give both --tls-cert and --tls-key");
  if (o.max_connections < 1) throw std::invalid_argument("--http-max-connections must be at least 1");
  if (o.max_queue < 1) throw std::invalid_argument("--http-max-queue must be at least 1");
  if (o.max_user_requests < 1) throw std::invalid_argument("--http-max-user-requests must be at least 1");
  if (o.idle_timeout.count() <= 0 || o.header_timeout.count() <= 0)
    throw std::invalid_argument("--http-idle-timeout and --http-header-timeout must be positive");
  if (!o.tls_cert.empty()) {
    server::use_server_tls(s.tls, o.tls_cert, o.tls_key);
  }
  const auto address = server::listen_address(s.io, o.host, " for --http");
  if (o.trust && !address.is_loopback())
    throw std::invalid_argument("trust authentication is only allowed on a loopback address, not " + o.host +
                                " (--http); give --users FILE with API keys instead");
  if (!o.trust && o.users_file.empty())
    throw std::invalid_argument("--http needs API keys: --users FILE (with --add-api-key NAME), or --auth trust on loopback");
  if (!o.users_file.empty()) s.users = server::UserFile::load(o.users_file);
  const tcp::endpoint endpoint(address, o.port);
  server::open_acceptor(s.acceptor, endpoint, o.host, " for --http");
}

HttpServer::~HttpServer() { stop(); }

uint16_t HttpServer::port() const { return impl_->acceptor.local_endpoint().port(); }
const std::string& HttpServer::model_id() const { return impl_->model; }
MetricsRegistry& HttpServer::metrics() { return impl_->metrics; }

void HttpServer::start() {
  impl_->accept_thread = std::thread([s = impl_.get()] { s->accept_loop(); });
}

void HttpServer::stop() {
  Impl& s = *impl_;
  if (s.stopping.exchange(true)) return;
  // shutdown(2) wakes a blocked accept(); closing under it would not be safe.
  ::shutdown(s.acceptor.native_handle(), SHUT_RDWR);
  if (s.accept_thread.joinable()) s.accept_thread.join();
  boost::system::error_code ec;
  s.acceptor.close(ec);
  s.watchdog.stop_all();
  std::unique_lock lock(s.mu);
  s.all_gone.wait(lock, [&] { return s.live == 0; });
}

}  // namespace cdb::http
