// The shell against a real `cartridge serve` (PostgreSQL protocol, trust
// auth on loopback): tables, answers, errors with their caret, exit status.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <regex>

#include "shell_process.h"

namespace cdb::test {
namespace {

// `cartridge serve DIR --listen 127.0.0.1:0 --auth trust`, stopped with
// SIGTERM at the end; the port it chose is read from its first line.
class Server {
 public:
  explicit Server(const std::filesystem::path& dir) {
    int err[2];
    if (pipe(err) != 0) throw std::runtime_error("pipe");
    std::vector<std::string> args = {cartridge_bin(), "serve", dir.string(), "--listen", "127.0.0.1:0", "--auth", "trust"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(err[1], STDERR_FILENO);
      close(err[0]);
      close(err[1]);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(err[1]);
    fd_ = err[0];
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    const std::regex listening(R"(on 127\.0\.0\.1:(\d+) )");
    std::smatch m;
    while (!std::regex_search(log_, m, listening) && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 200) <= 0) continue;
      char buf[512];
      const ssize_t n = read(fd_, buf, sizeof buf);
      if (n <= 0) break;
      log_.append(buf, static_cast<size_t>(n));
    }
    if (std::regex_search(log_, m, listening)) port_ = std::stoi(m[1]);
  }
  ~Server() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      for (int i = 0; i < 200 && waitpid(pid_, &status, WNOHANG) == 0; ++i) usleep(50000);
      if (waitpid(pid_, &status, WNOHANG) == 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
      }
    }
    if (fd_ >= 0) close(fd_);
  }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  int port() const { return port_; }
  const std::string& log() const { return log_; }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  int port_ = 0;
  std::string log_;
};

TEST(ShellRemote, ConnectRunsStatementsOnAServer) {
  TempDir home("shell-remote");
  const auto dir = home.path() / "db";
  const ProcessRun setup = run_cartridge(
      {"shell", dir.string(), "--model", stories_model(), "--tokenizer", stories_tokenizer(), "-c",
       "CREATE CORPUS farm; ADD DOCUMENT 'Benny the goat ate the hay.' TO farm;"},
      "", home.path());
  ASSERT_EQ(setup.status, 0) << setup.transcript();
  Server server(dir);
  ASSERT_GT(server.port(), 0) << server.log();
  const std::string target = "127.0.0.1:" + std::to_string(server.port());

  const ProcessRun r = run_cartridge(
      {"shell", "--connect", target, "-c", "SHOW CORPORA; ASK 'Benny the goat' USING farm WITH (max_tokens = 4);"}, "",
      home.path());
  ASSERT_EQ(r.status, 0) << r.transcript() << server.log();
  EXPECT_NE(r.out.find(" farm "), std::string::npos) << r.transcript();
  EXPECT_NE(r.out.find("(1 row)"), std::string::npos) << r.transcript();

  const ProcessRun bad = run_cartridge({"shell", "--connect", target, "--format", "csv"},
                                       "SHOW CORPORA;\nASK 'q'\n  USING;\nSHOW JOBS;\n", home.path());
  EXPECT_EQ(bad.status, 1) << bad.transcript();
  EXPECT_NE(bad.out.find("corpus,"), std::string::npos) << bad.transcript();
  EXPECT_NE(bad.err.find("ASK 'q'\n  USING;\n       ^\n"), std::string::npos) << bad.transcript();
  EXPECT_EQ(bad.out.find("id,corpus,state"), std::string::npos) << bad.transcript();
}

}  // namespace
}  // namespace cdb::test
