// A real `cartridge serve` child process for one test: a temp data
// directory with the stories260K model, a free loopback port, and helpers
// to run clients (psql, python3) against it. The destructor stops it with
// SIGTERM (SIGKILL after 30 s).
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/models_dir.h"
#include "support/shell_quote.h"
#include "support/temp_dir.h"

namespace cdb::test {

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_text(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p);
  out << text;
}

// Shell command output (stdout and stderr) and exit status.
struct CommandResult {
  int status = -1;
  std::string output;
};

inline CommandResult run_command(const std::string& command) {
  CommandResult r;
  FILE* f = ::popen((command + " 2>&1").c_str(), "r");
  if (!f) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) r.output.append(buf, n);
  const int st = ::pclose(f);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

class ServerProcess {
 public:
  // `args`: extra `cartridge serve` arguments (default auth: trust). With
  // a --listen of their own, port() is the one the server's log names.
  explicit ServerProcess(std::vector<std::string> args = {"--auth", "trust"}, std::string tag = "server")
      : dir_(tag), port_(free_port()) {
    const bool own_listen = std::find(args.begin(), args.end(), "--listen") != args.end();
    std::vector<std::string> argv = {std::string(CDB_BIN_DIR) + "/cartridge", "serve", (dir_.path() / "data").string(),
                                     "--model", cdb::model_file("stories260K/stories260K.bin").string(),
                                     "--tokenizer", cdb::model_file("stories260K/tok512.bin").string()};
    if (!own_listen) argv.insert(argv.end(), {"--listen", "127.0.0.1:" + std::to_string(port_)});
    argv.insert(argv.end(), args.begin(), args.end());
    log_ = dir_.path() / "serve.log";
    pid_ = ::fork();
    if (pid_ == 0) {
      FILE* f = std::fopen(log_.c_str(), "w");
      if (f) {
        ::dup2(::fileno(f), 1);
        ::dup2(::fileno(f), 2);
      }
      std::vector<char*> c;
      for (auto& a : argv) c.push_back(a.data());
      c.push_back(nullptr);
      ::execv(c[0], c.data());
      ::_exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    // Ready when the log names the port it listens on. Not by connecting: a
    // probe connection counts as starting until the server sees it close,
    // which on a loaded machine can be after the test's own connections
    // (it once took a place under --max-startup-connections).
    while (port_from_log() == 0) {
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("cartridge serve exited at start:\n" + log());
      }
      if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("cartridge serve did not start:\n" + log());
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (own_listen) port_ = port_from_log();
  }
  ~ServerProcess() { stop(); }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // SIGTERM, then the exit status (-1: killed after 30 s or not running).
  int stop() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    int st = 0;
    for (int i = 0; i < 600; ++i) {
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &st, 0);
    pid_ = -1;
    return -1;
  }

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string log() const { return read_text(log_); }
  const std::filesystem::path& dir() const { return dir_.path(); }
  // A libpq connection string.
  std::string conninfo(const std::string& user = "tester", const std::string& extra = "") const {
    return "host=127.0.0.1 port=" + std::to_string(port_) + " user=" + user + " dbname=cartridge connect_timeout=30" +
           (extra.empty() ? "" : " " + extra);
  }
  // psql -X (no psqlrc) with ON_ERROR_STOP and verbose errors (SQLSTATE shown).
  CommandResult psql(const std::string& command, const std::string& extra_conninfo = "",
                     const std::string& env = "") const {
    return run_command(env + " psql -X -v ON_ERROR_STOP=1 -v VERBOSITY=verbose " +
                       shell_quote(conninfo("tester", extra_conninfo)) + " -c " + shell_quote(command));
  }
  // psql -X -At: unaligned rows only, "a|b\n" per row.
  CommandResult psql_rows(const std::string& command) const {
    return run_command("psql -X -At " + shell_quote(conninfo()) + " -c " + shell_quote(command));
  }
  // Runs a Python script written into the test directory.
  CommandResult python(const std::string& name, const std::string& script) const {
    const auto path = dir_.path() / name;
    write_text(path, script);
    // Debian's interpreter: the psycopg packages are installed for it.
    return run_command("/usr/bin/python3 " + shell_quote(path.string()) + " " + std::to_string(port_));
  }

 private:
  // The port in the log's "cartridge serve: DIR on HOST:PORT (auth ..." line; 0 before it.
  int port_from_log() const {
    const std::string text = log();
    const size_t auth = text.find(" (auth ");
    const size_t colon = text.rfind(':', auth);
    return auth == std::string::npos || colon == std::string::npos ? 0 : std::atoi(text.c_str() + colon + 1);
  }

  TempDir dir_;
  int port_;
  std::filesystem::path log_;
  pid_t pid_ = -1;
};

// A corpus `pets` with two short documents (answers come from ICL: fast).
// The fields of `node`'s row in SHOW NODES' unaligned output (psql_rows):
// node, address, alive, heartbeat_age_s, cartridges, resident_bytes,
// budget_bytes, this_node, asks_in_flight, asks_forwarded, asks_received,
// asks_fallback. Empty when the node is not listed.
inline std::vector<std::string> show_nodes_row(const std::string& rows, const std::string& node) {
  std::istringstream lines(rows);
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> f;
    std::istringstream fields(line);
    for (std::string x; std::getline(fields, x, '|');) f.push_back(x);
    if (line.ends_with('|')) f.push_back("");
    if (f.size() == 12 && f[0] == node) return f;
  }
  return {};
}

// SHOW NODES on `on`, polled until `done` holds of its rows (or 10 s);
// the last rows read.
template <class Done>
std::string show_nodes_until(const ServerProcess& on, const Done& done) {
  std::string rows;
  for (int i = 0; i < 100; ++i) {
    rows = on.psql_rows("SHOW NODES").output;
    if (done(rows)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return rows;
}

inline constexpr const char* kSetupPets =
    "CREATE CORPUS pets; "
    "ADD DOCUMENT 'Mia has a cat named Tom. Tom likes to sleep in the sun.' TO pets; "
    "ADD DOCUMENT 'Ben has a dog named Rex. Rex runs in the park every day.' TO pets";

// A fixture: a server (with `args`) and the `pets` corpus.
class PetsServerTest : public ::testing::Test {
 protected:
  explicit PetsServerTest(std::vector<std::string> args = {"--auth", "trust"}) : server(std::move(args)) {}
  void SetUp() override {
    auto r = server.psql(kSetupPets);
    ASSERT_EQ(r.status, 0) << r.output << server.log();
  }
  ServerProcess server;
};

}  // namespace cdb::test
