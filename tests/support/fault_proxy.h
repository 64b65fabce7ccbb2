// FaultProxy: a real network hop on loopback between an HTTP client and its
// server (the S3 client and s3rver) that fails requests on a schedule, for
// tests of retries and timeouts against faults s3rver cannot produce.
//
// Per request, in arrival order, it takes the next fault of the schedule
// (or the standing one, kPass unless always() says otherwise):
//  - kPass: forwards the request and relays the answer;
//  - kHttp500 / kSlowDown: answers 500 InternalError / 503 SlowDown itself,
//    with S3's XML error body;
//  - kStall: reads the request and never answers (until the proxy stops);
//  - kReset: reads the request and resets the connection (RST).
// To see every request, it makes each connection carry one: the forwarded
// request says "Connection: close", so the server closes after answering and
// the client opens a new connection for the next request.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace cdb::test {

class FaultProxy {
 public:
  enum class Fault { kPass, kHttp500, kSlowDown, kStall, kReset };

  // upstream_port: the server on 127.0.0.1; port 0 makes every passed
  // request fail to connect (for "unreachable" with a live listener).
  explicit FaultProxy(int upstream_port) : upstream_port_(upstream_port) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listen_fd_, 64) != 0)
      throw std::runtime_error("fault proxy: cannot listen on loopback");
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~FaultProxy() {
    stop_ = true;
    acceptor_.join();
    std::vector<std::thread> handlers;
    {
      std::lock_guard lock(mu_);
      handlers.swap(handlers_);
    }
    for (auto& t : handlers) t.join();
    ::close(listen_fd_);
  }
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  int port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // The next requests get these faults, in order; later ones the standing fault.
  void schedule(std::vector<Fault> faults) {
    std::lock_guard lock(mu_);
    queue_.assign(faults.begin(), faults.end());
  }
  // Every request from now on (after any scheduled ones).
  void always(Fault f) {
    std::lock_guard lock(mu_);
    standing_ = f;
  }
  int requests() const { return requests_.load(); }
  int faults() const { return faults_.load(); }

 private:
  static bool send_all(int fd, const char* p, size_t n) {
    while (n > 0) {
      const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
      if (w <= 0) return false;
      p += w;
      n -= static_cast<size_t>(w);
    }
    return true;
  }
  // Waits up to 50 ms for fd to be readable; false when stopping.
  bool wait_readable(int fd) const {
    pollfd p{fd, POLLIN, 0};
    while (!stop_) {
      if (::poll(&p, 1, 50) > 0) return true;
    }
    return false;
  }

  void accept_loop() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      std::lock_guard lock(mu_);
      handlers_.emplace_back([this, fd] {
        handle(fd);
        ::close(fd);
      });
    }
  }

  void handle(int client) {
    // The request head, and as much of the body as came with it.
    std::string buf;
    size_t head_end = std::string::npos;
    char chunk[65536];
    while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
      if (buf.size() > 65536 || !wait_readable(client)) return;
      const ssize_t r = ::recv(client, chunk, sizeof chunk, 0);
      if (r <= 0) return;
      buf.append(chunk, static_cast<size_t>(r));
    }
    head_end += 4;
    requests_.fetch_add(1);
    Fault fault;
    {
      std::lock_guard lock(mu_);
      fault = standing_;
      if (!queue_.empty()) {
        fault = queue_.front();
        queue_.pop_front();
      }
    }
    if (fault != Fault::kPass) faults_.fetch_add(1);
    std::string head = buf.substr(0, head_end);
    std::string lower = head;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    switch (fault) {
      case Fault::kPass:
        return relay(client, head, lower, buf.substr(head_end));
      case Fault::kHttp500:
      case Fault::kSlowDown: {
        // Read the body first, so that the client sees the answer, not a reset.
        const size_t cl = lower.find("\r\ncontent-length:");
        size_t body = cl == std::string::npos ? 0 : std::strtoull(lower.c_str() + cl + 17, nullptr, 10);
        size_t have = buf.size() - head_end;
        while (have < body && wait_readable(client)) {
          const ssize_t r = ::recv(client, chunk, sizeof chunk, 0);
          if (r <= 0) return;
          have += static_cast<size_t>(r);
        }
        const bool slow = fault == Fault::kSlowDown;
        const std::string xml = std::string("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>") +
                                (slow ? "SlowDown" : "InternalError") + "</Code><Message>" +
                                (slow ? "Please reduce your request rate." : "We encountered an internal error.") +
                                "</Message></Error>";
        const std::string resp = std::string("HTTP/1.1 ") + (slow ? "503 Slow Down" : "500 Internal Server Error") +
                                 "\r\nContent-Type: application/xml\r\nContent-Length: " + std::to_string(xml.size()) +
                                 "\r\nConnection: close\r\n\r\n" + xml;
        send_all(client, resp.data(), resp.size());
        ::shutdown(client, SHUT_WR);
        return;
      }
      case Fault::kStall:
        while (wait_readable(client)) {
          if (::recv(client, chunk, sizeof chunk, 0) <= 0) return;
        }
        return;
      case Fault::kReset: {
        linger l{1, 0};  // close() then sends RST
        ::setsockopt(client, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        return;
      }
    }
  }

  void relay(int client, const std::string& head, const std::string& lower, const std::string& rest) {
    // The head with any Connection header replaced by "Connection: close".
    std::string out;
    size_t pos = 0;
    while (pos < head.size()) {
      size_t eol = head.find("\r\n", pos);
      if (eol == std::string::npos) eol = head.size();
      if (eol == pos) break;  // the blank line
      if (lower.compare(pos, 11, "connection:") != 0) out += head.substr(pos, eol - pos) + "\r\n";
      pos = eol + 2;
    }
    out += "Connection: close\r\n\r\n" + rest;
    const int up = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(upstream_port_));
    if (upstream_port_ == 0 || ::connect(up, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        !send_all(up, out.data(), out.size())) {
      ::close(up);
      return;
    }
    char chunk[65536];
    bool client_open = true;
    while (!stop_) {
      pollfd p[2] = {{up, POLLIN, 0}, {client, static_cast<short>(client_open ? POLLIN : 0), 0}};
      if (::poll(p, 2, 50) <= 0) continue;
      if (p[0].revents) {
        const ssize_t r = ::recv(up, chunk, sizeof chunk, 0);
        if (r <= 0 || !send_all(client, chunk, static_cast<size_t>(r))) break;
      }
      if (client_open && p[1].revents) {
        const ssize_t r = ::recv(client, chunk, sizeof chunk, 0);
        if (r <= 0) {
          client_open = false;
          ::shutdown(up, SHUT_WR);
        } else if (!send_all(up, chunk, static_cast<size_t>(r))) {
          break;
        }
      }
    }
    ::shutdown(client, SHUT_WR);
    ::close(up);
  }

  int upstream_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0}, faults_{0};
  std::mutex mu_;
  std::deque<Fault> queue_;
  Fault standing_ = Fault::kPass;
  std::vector<std::thread> handlers_;
  std::thread acceptor_;
};

}  // namespace cdb::test
