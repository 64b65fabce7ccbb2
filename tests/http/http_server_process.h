// A real `cartridge serve --http` child process for one test (ServerProcess
// of tests/server, with the HTTP listener on a free port), and the clients
// the HTTP tests use: raw sockets (exact bytes, for framing and fuzzing),
// curl and node with the official `openai` npm package.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "server/server_process.h"
#include "support/npm_packages.h"
#include "support/shell_quote.h"

namespace cdb::test {

// A connected loopback socket; closed by the destructor.
class Socket {
 public:
  explicit Socket(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
    int one = 1;
    if (fd_ >= 0) ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~Socket() { close(); }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  bool ok() const { return fd_ >= 0; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  bool send(const std::string& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }
  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }
  // Reads what is there within `timeout` (nothing more arriving for that
  // long, or the peer closing, ends it).
  std::string read_some(std::chrono::milliseconds timeout) {
    std::string out;
    char buf[8192];
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return out;
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) out.assign(buf, static_cast<size_t>(n));
    else closed_ = true;
    return out;
  }
  // Reads until the peer closes or `until` appears, at most `timeout` in all.
  std::string read_until(const std::string& until, std::chrono::milliseconds timeout) {
    std::string out;
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (!closed_ && std::chrono::steady_clock::now() < end) {
      out += read_some(std::chrono::milliseconds(50));
      if (!until.empty() && out.find(until) != std::string::npos) break;
    }
    return out;
  }
  bool closed() const { return closed_; }

 private:
  int fd_;
  bool closed_ = false;
};

// The status code of a raw response ("HTTP/1.1 404 Not Found" -> 404); 0: none.
inline int status_of(const std::string& response) {
  if (response.rfind("HTTP/1.1 ", 0) != 0 || response.size() < 12) return 0;
  return std::atoi(response.c_str() + 9);
}

inline std::string body_of(const std::string& response) {
  const size_t at = response.find("\r\n\r\n");
  return at == std::string::npos ? "" : response.substr(at + 4);
}

// SSE `data:` payloads of a chunked event-stream body (the chunk sizes are
// dropped: they are on lines of their own, without "data: ").
inline std::vector<std::string> sse_data(const std::string& body) {
  std::vector<std::string> out;
  size_t at = 0;
  while ((at = body.find("data: ", at)) != std::string::npos) {
    const size_t end = body.find("\n\n", at);
    if (end == std::string::npos) break;
    out.push_back(body.substr(at + 6, end - at - 6));
    at = end + 2;
  }
  return out;
}

class HttpServerProcess {
 public:
  explicit HttpServerProcess(std::vector<std::string> args = {"--auth", "trust"}, std::string tag = "http")
      : server_(with_http(std::move(args)), std::move(tag)) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while ((http_port_ = port_from_log()) == 0) {
      if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("no http line:\n" + server_.log());
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  ServerProcess& pg() { return server_; }
  int port() const { return http_port_; }
  std::string url(const std::string& path = "") const { return "http://127.0.0.1:" + std::to_string(http_port_) + path; }

  // One request on its own connection (Connection: close); the raw response.
  std::string request(const std::string& method, const std::string& path, const std::string& body = "",
                      const std::string& extra_headers = "",
                      std::chrono::milliseconds timeout = std::chrono::seconds(60)) const {
    Socket s(http_port_);
    if (!s.ok()) return "";
    std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + extra_headers;
    if (!body.empty() || method == "POST")
      req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    s.send(req + "\r\n" + body);
    return s.read_until("", timeout);
  }
  nlohmann::json json_of(const std::string& response) const {
    return nlohmann::json::parse(body_of(response), nullptr, false);
  }
  CommandResult curl(const std::string& args) const { return run_command("curl -sS " + args); }

  // Runs a node script with the npm test packages (the openai client) on
  // its module path; the script gets the base URL as process.argv[2].
  CommandResult node(const std::string& name, const std::string& script, const std::string& env = "") const {
    const auto path = server_.dir() / name;
    write_text(path, script);
    return run_command(env + " NODE_PATH=" + shell_quote((npm_dir() / "node_modules").string()) + " node " +
                       shell_quote(path.string()) + " " + shell_quote(url("/v1")));
  }

 private:
  static std::vector<std::string> with_http(std::vector<std::string> args) {
    args.insert(args.end(), {"--http", "127.0.0.1:0"});
    return args;
  }
  int port_from_log() const {
    const std::string text = server_.log();
    const size_t at = text.find("cartridge serve: http on ");
    if (at == std::string::npos) return 0;
    const size_t eol = text.find('\n', at);
    if (eol == std::string::npos) return 0;
    const size_t colon = text.rfind(':', eol);
    return std::atoi(text.c_str() + colon + 1);
  }

  ServerProcess server_;
  int http_port_ = 0;
};

// A POST body for /v1/chat/completions.
inline std::string chat_body(const std::string& question, int max_tokens, const std::string& extra = "") {
  nlohmann::json j = {{"model", "stories260K"},
                      {"messages", {{{"role", "user"}, {"content", question}}}},
                      {"corpora", {"pets"}},
                      {"max_tokens", max_tokens}};
  std::string s = j.dump();
  if (!extra.empty()) s = s.substr(0, s.size() - 1) + "," + extra + "}";
  return s;
}

}  // namespace cdb::test
