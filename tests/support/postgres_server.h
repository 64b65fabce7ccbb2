// A real PostgreSQL 15 server for the tests: initdb into a TempDir, started
// on a free loopback port with its unix socket in that directory, fsync off
// (a test cluster need not survive power loss), stopped (immediate mode)
// in the destructor. PostgreSQL refuses to run as root, and CI runs as root:
// there the cluster runs as the unprivileged user `nobody` (runuser), with
// the directory handed to it; otherwise as the current user.
//
// Starting a cluster takes a second or two, so a test binary shares one
// (PostgresServer::shared(), started on first use, stopped at exit) and
// each test takes a fresh database from it (create_database()), which keeps
// tests independent. The package is postgresql-15 (cartridgedb.sh installs
// it); a missing binary fails the test, it is never skipped.
//
// A test binary that crashes runs no destructor: a reaper child, which
// watches for its parent's end (its parent pid changes), then stops the
// cluster and removes its directory, so that no server is left running
// behind a failed test. (Not PR_SET_PDEATHSIG: that fires when the forking
// thread ends, which need not be the process.)
#pragma once

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>

#include "support/shell_quote.h"
#include "support/temp_dir.h"

namespace cdb::test {

class PostgresServer {
 public:
  static constexpr const char* kBinDir = "/usr/lib/postgresql/15/bin";
  static constexpr const char* kSuperuser = "cdb";

  PostgresServer() : dir_("pg") {
    const auto t0 = std::chrono::steady_clock::now();
    if (!std::filesystem::exists(std::string(kBinDir) + "/postgres"))
      throw std::runtime_error(std::string(kBinDir) + "/postgres is missing: install postgresql-15 (./cartridgedb.sh)");
    if (::geteuid() == 0) {
      as_ = "runuser -u nobody -- ";
      run("chown -R nobody " + shell_quote(dir_.path().string()), "chown the cluster directory");
    }
    data_ = dir_.path() / "data";
    run(as_ + bin("initdb") + " -D " + shell_quote(data_.string()) + " -U " + kSuperuser +
            " --auth=trust --no-sync --no-instructions -E UTF8 --locale=C > " + log("initdb") + " 2>&1",
        "initdb");
    // A port that was free a moment ago may be taken by the time the server
    // binds it (other test binaries run in parallel): try a few.
    for (int attempt = 0;; ++attempt) {
      port_ = free_port();
      if (std::system(start_command().c_str()) == 0) break;
      if (attempt == 4) throw std::runtime_error("pg_ctl start failed 5 times: " + read(dir_.path() / "server.log"));
    }
    started_ = true;
    start_reaper();
    start_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  ~PostgresServer() {
    if (reaper_ > 0) {
      ::kill(reaper_, SIGKILL);
      ::waitpid(reaper_, nullptr, 0);
    }
    if (started_) std::system(stop_command().c_str());
  }
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // The one cluster of this test binary.
  static PostgresServer& shared() {
    static std::once_flag once;
    static std::unique_ptr<PostgresServer> server;
    std::call_once(once, [] { server = std::make_unique<PostgresServer>(); });
    return *server;
  }

  // Stops the cluster as an administrator's restart does (fast mode: each
  // session is sent FATAL 57P01 and closed), then starts it again on the
  // same data directory and port: what a client sees of a restart or of a
  // failover to a server behind the same address.
  void restart() {
    stop();
    start();
  }
  void stop() {
    if (std::system((as_ + bin("pg_ctl") + " -D " + shell_quote(data_.string()) + " -m fast -w -t 60 stop > " +
                     log("pg_ctl") + " 2>&1")
                        .c_str()) != 0)
      throw std::runtime_error("test cluster: pg_ctl stop failed: " + read(dir_.path() / "pg_ctl.log"));
  }
  void start() {
    if (std::system(start_command().c_str()) != 0)
      throw std::runtime_error("test cluster: pg_ctl start failed: " + read(dir_.path() / "server.log"));
  }

  int port() const { return port_; }
  double start_seconds() const { return start_seconds_; }
  std::string url(const std::string& db) const {
    return "postgresql://" + std::string(kSuperuser) + "@127.0.0.1:" + std::to_string(port_) + "/" + db;
  }

  // A new, empty database (t_1, t_2, ...); returns its URL.
  std::string create_database() {
    const std::string name = "t_" + std::to_string(++databases_);
    admin("CREATE DATABASE " + name);
    return url(name);
  }

  // Runs `sql` as the superuser on the `postgres` database.
  void admin(const std::string& sql) const {
    PGconn* c = PQconnectdb(("host=127.0.0.1 port=" + std::to_string(port_) + " dbname=postgres user=" + kSuperuser).c_str());
    std::unique_ptr<PGconn, decltype(&PQfinish)> conn(c, &PQfinish);
    if (PQstatus(c) != CONNECTION_OK) throw std::runtime_error(std::string("test cluster: ") + PQerrorMessage(c));
    std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(c, sql.c_str()), &PQclear);
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK)
      throw std::runtime_error("test cluster: " + sql + ": " + PQerrorMessage(c));
  }

 private:
  static std::string bin(const char* name) { return std::string(kBinDir) + "/" + name; }
  std::string start_command() const {
    const std::string opts = "-p " + std::to_string(port_) + " -k " + dir_.path().string() +
                             " -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
                             " -c full_page_writes=off -c max_connections=200";
    return as_ + bin("pg_ctl") + " -D " + shell_quote(data_.string()) + " -o " + shell_quote(opts) + " -l " +
           shell_quote((dir_.path() / "server.log").string()) + " -w -t 60 start > " + log("pg_ctl") + " 2>&1";
  }
  std::string stop_command() const {
    return as_ + bin("pg_ctl") + " -D " + shell_quote(data_.string()) + " -m immediate -w stop > /dev/null 2>&1";
  }
  void start_reaper() {
    // Everything the child needs is made before fork: after it, only
    // async-signal-safe calls.
    const std::string cmd = stop_command() + "; rm -rf " + shell_quote(dir_.path().string());
    const pid_t parent = ::getpid();
    reaper_ = ::fork();
    if (reaper_ != 0) return;
    // The test's open files (an flock'ed store LOCK, say) must not stay
    // held by this child after the test closes them.
    ::close_range(3, ~0U, 0);
    const timespec pause{0, 200'000'000};
    while (::getppid() == parent) ::nanosleep(&pause, nullptr);
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::string log(const char* what) const { return shell_quote((dir_.path() / (std::string(what) + ".log")).string()); }
  static std::string read(const std::filesystem::path& p) {
    std::ifstream f(p);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }
  void run(const std::string& cmd, const char* what) const {
    if (std::system(cmd.c_str()) != 0)
      throw std::runtime_error(std::string("test cluster: ") + what + " failed: " + cmd + "\n" +
                               read(dir_.path() / (std::string(what) + ".log")));
  }
  static int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
      port = ntohs(a.sin_port);
    ::close(fd);
    if (port == 0) throw std::runtime_error("test cluster: no free loopback port");
    return port;
  }

  TempDir dir_;
  std::filesystem::path data_;
  std::string as_;
  int port_ = 0;
  bool started_ = false;
  pid_t reaper_ = -1;
  double start_seconds_ = 0;
  std::atomic<int> databases_{0};
};

}  // namespace cdb::test
