// A minimal frontend for tests that need to send exactly chosen bytes:
// startup with trust, raw messages, and reading typed backend messages
// with a timeout.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace cdb::test {

struct BackendMessage {
  char type = 0;
  std::string body;
};

inline std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}
inline std::string be16(uint16_t v) { return {static_cast<char>(v >> 8), static_cast<char>(v)}; }

// A StartupMessage (protocol 3.0) for `user`.
inline std::string startup_packet(const std::string& user) {
  const std::string body = be32(3 << 16) + "user" + '\0' + user + '\0' + "database" + '\0' + "x" + '\0' + '\0';
  return be32(body.size() + 4) + body;
}

// A whole frontend message: type, length, body.
inline std::string message(char type, const std::string& body) { return std::string(1, type) + be32(body.size() + 4) + body; }
inline std::string query_message(const std::string& sql) { return message('Q', sql + '\0'); }

class WireClient {
 public:
  explicit WireClient(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("connect failed");
  }
  ~WireClient() { ::close(fd_); }
  WireClient(const WireClient&) = delete;
  WireClient& operator=(const WireClient&) = delete;

  // Returns false once the peer has closed (EPIPE / ECONNRESET).
  bool send(const std::string& bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }

  // Startup as `user` (trust auth); collects messages up to ReadyForQuery.
  std::vector<BackendMessage> startup(const std::string& user = "tester") {
    send(startup_packet(user));
    return until_ready();
  }

  // The next message; nullopt when the connection closed or timed out.
  std::optional<BackendMessage> read(std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    std::string header;
    if (!read_exact(5, header, timeout)) return std::nullopt;
    BackendMessage m;
    m.type = header[0];
    const uint32_t len = (uint32_t(uint8_t(header[1])) << 24) | (uint32_t(uint8_t(header[2])) << 16) |
                         (uint32_t(uint8_t(header[3])) << 8) | uint32_t(uint8_t(header[4]));
    if (len < 4 || !read_exact(len - 4, m.body, timeout)) return std::nullopt;
    return m;
  }

  // Messages up to and including ReadyForQuery (or until the connection ends).
  std::vector<BackendMessage> until_ready(std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    std::vector<BackendMessage> out;
    while (auto m = read(timeout)) {
      out.push_back(*m);
      if (m->type == 'Z') break;
    }
    return out;
  }

  // True when the server closed the connection (read returns EOF / reset).
  bool closed_by_peer(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    std::string ignored;
    while (read_exact(1, ignored, timeout)) ignored.clear();
    return eof_;
  }

 private:
  bool read_exact(size_t n, std::string& out, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out.size() < n) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
      char buf[65536];
      const ssize_t got = ::recv(fd_, buf, std::min(sizeof buf, n - out.size()), 0);
      if (got <= 0) {
        eof_ = true;
        return false;
      }
      out.append(buf, static_cast<size_t>(got));
    }
    return true;
  }
  int fd_ = -1;
  bool eof_ = false;
};

// The SQLSTATE ('C' field) of an ErrorResponse / NoticeResponse body.
inline std::string sqlstate_of(const BackendMessage& m) {
  size_t i = 0;
  while (i < m.body.size() && m.body[i] != '\0') {
    const char field = m.body[i];
    const size_t end = m.body.find('\0', i + 1);
    if (end == std::string::npos) break;
    if (field == 'C') return m.body.substr(i + 1, end - i - 1);
    i = end + 1;
  }
  return "";
}

inline std::string types_of(const std::vector<BackendMessage>& ms) {
  std::string t;
  for (const auto& m : ms) t += m.type;
  return t;
}

}  // namespace cdb::test
