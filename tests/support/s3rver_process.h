// A real S3 endpoint for one test: the npm package s3rver (installed by
// ./cartridgedb.sh into third_party/npm), started by node on a free
// loopback port with its data in a temp dir and one bucket created. Ready
// when its log names the port (tests/support/s3rver_main.js prints it);
// the destructor stops it with SIGTERM (SIGKILL after 5 s). The child also
// dies with the test process (PR_SET_PDEATHSIG), so a crashed test leaves
// no server behind.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

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

#include "storage/s3/s3_options.h"
#include "support/npm_packages.h"
#include "support/temp_dir.h"

namespace cdb::test {

class S3rverProcess {
 public:
  // s3rver's fixed credentials.
  static constexpr const char* kAccessKey = "S3RVER";
  static constexpr const char* kSecretKey = "S3RVER";

  explicit S3rverProcess(std::string bucket = "cdb-test") : dir_("s3rver"), bucket_(std::move(bucket)) {
    const auto modules = npm_dir() / "node_modules";
    if (!std::filesystem::exists(modules / "s3rver" / "package.json"))
      throw std::runtime_error((modules / "s3rver").string() +
                               " is missing: run ./cartridgedb.sh test (its setup installs the npm test packages "
                               "into third_party/npm) or set CDB_NPM_DIR");
    std::filesystem::create_directories(dir_.path() / "data");
    log_ = dir_.path() / "s3rver.log";
    const std::string script = std::string(CDB_SOURCE_DIR) + "/tests/support/s3rver_main.js";
    const std::string data = (dir_.path() / "data").string();
    const std::string node_path = modules.string();
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(1);
      if (FILE* f = std::fopen(log_.c_str(), "w")) {
        ::dup2(::fileno(f), 1);
        ::dup2(::fileno(f), 2);
      }
      ::setenv("NODE_PATH", node_path.c_str(), 1);
      // s3rver's continuation tokens are DES-encrypted (listing past one
      // page), which OpenSSL 3 only offers through its legacy provider.
      ::execlp("node", "node", "--openssl-legacy-provider", script.c_str(), data.c_str(), "0", bucket_.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while ((port_ = port_from_log()) == 0) {
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("s3rver exited at start:\n" + log());
      }
      if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("s3rver did not start:\n" + log());
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  ~S3rverProcess() { stop(); }
  S3rverProcess(const S3rverProcess&) = delete;
  S3rverProcess& operator=(const S3rverProcess&) = delete;

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int st = 0;
    for (int i = 0; i < 250; ++i) {
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &st, 0);
    pid_ = -1;
  }

  int port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // Client options for `endpoint` (this server, a proxy in front of it, or
  // a closed port), with timeouts and backoffs short enough for tests.
  static S3Options client_options(const std::string& endpoint, const std::string& bucket = "cdb-test") {
    S3Options o;
    o.endpoint = endpoint;
    o.bucket = bucket;
    o.credentials = {kAccessKey, kSecretKey, ""};
    o.connect_timeout_ms = 1000;
    o.request_timeout_ms = 5000;
    o.retries = 3;
    o.backoff_base_ms = 10;
    o.backoff_max_ms = 50;
    return o;
  }
  const std::string& bucket() const { return bucket_; }
  std::string log() const {
    std::ifstream in(log_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  // The port in "s3rver listening on 127.0.0.1:PORT"; 0 before that line.
  int port_from_log() const {
    const std::string text = log();
    const std::string mark = "s3rver listening on ";
    const size_t at = text.find(mark);
    if (at == std::string::npos) return 0;
    const size_t eol = text.find('\n', at);
    if (eol == std::string::npos) return 0;
    const size_t colon = text.rfind(':', eol);
    return colon == std::string::npos || colon < at ? 0 : std::atoi(text.c_str() + colon + 1);
  }

  TempDir dir_;
  std::string bucket_;
  std::filesystem::path log_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace cdb::test
