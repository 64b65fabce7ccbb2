// A child process that does some work, reports progress to the parent on a
// pipe, and is SIGKILLed by the parent: the crash-safety tests' harness.
//
// Reports are decimal integers, one per line, each sent with one write():
// a pipe write of up to PIPE_BUF bytes is atomic, so a kill never leaves the
// parent half a report.
//
// Two ways to start the child:
//  - fork_running(fn): fork() and run fn in the child. Only for code that
//    starts no threads before the fork (storage); LibTorch's thread pools do
//    not survive fork().
//  - exec_self(test, env): fork() and re-execute this test binary running
//    only `test` (a DISABLED_ test that reads ChildReporter::from_env()), a
//    fresh process image.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace cdb::test {

// The child's end of the pipe.
class ChildReporter {
 public:
  explicit ChildReporter(int fd) : fd_(fd) {}
  // The reporter of a child started by exec_self; nullopt when this process
  // was not started that way (the DISABLED_ test then skips itself).
  static std::optional<ChildReporter> from_env() {
    const char* fd = std::getenv(kFdEnv);
    if (!fd || !*fd) return std::nullopt;
    return ChildReporter(std::atoi(fd));
  }
  // Aborts when the parent is gone: a child must not outlive its test.
  void report(int64_t value) const {
    const std::string line = std::to_string(value) + "\n";
    if (::write(fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) std::abort();
  }

  static constexpr const char* kFdEnv = "CDB_TEST_CHILD_REPORT_FD";

 private:
  int fd_;
};

class KilledChild {
 public:
  // fn runs in the forked child, which then exits 0 (2 if fn threw).
  static KilledChild fork_running(const std::function<void(const ChildReporter&)>& fn) {
    KilledChild c;
    if (c.pid_ == 0) {
      int rc = 0;
      try {
        fn(ChildReporter(c.write_fd_));
      } catch (...) {
        rc = 2;
      }
      ::_exit(rc);
    }
    return c;
  }

  // Runs `gtest_test` ("Suite.DISABLED_Name") of this binary in a fresh
  // process, with `env` added to its environment.
  static KilledChild exec_self(const std::string& gtest_test,
                               const std::vector<std::pair<std::string, std::string>>& env = {}) {
    KilledChild c;
    if (c.pid_ == 0) {
      ::setenv(ChildReporter::kFdEnv, std::to_string(c.write_fd_).c_str(), 1);
      for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
      const std::string filter = "--gtest_filter=" + gtest_test;
      ::execl("/proc/self/exe", "child", filter.c_str(), "--gtest_also_run_disabled_tests",
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    return c;
  }

  KilledChild(KilledChild&& o) noexcept
      : pid_(std::exchange(o.pid_, -1)), read_fd_(std::exchange(o.read_fd_, -1)), pending_(std::move(o.pending_)) {}
  KilledChild& operator=(KilledChild&&) = delete;
  KilledChild(const KilledChild&) = delete;
  KilledChild& operator=(const KilledChild&) = delete;
  // A test that fails early still kills and reaps its child.
  ~KilledChild() {
    if (pid_ > 0) kill_and_reap();
    if (read_fd_ >= 0) ::close(read_fd_);
  }

  // Blocks until `n` more reports arrived or the child closed the pipe
  // (exited); returns what arrived, possibly fewer than n.
  std::vector<int64_t> wait_reports(size_t n) {
    std::vector<int64_t> out;
    while (out.size() < n) {
      auto v = next_report();
      if (!v) break;
      out.push_back(*v);
    }
    return out;
  }

  struct Exit {
    bool killed = false;  // died of the SIGKILL (else it had exited by itself)
    int status = 0;       // exit status when !killed
  };
  // SIGKILL (a no-op on a child that already exited), then reap.
  Exit kill_and_reap() {
    Exit e;
    if (pid_ <= 0) return e;
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    e.killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    e.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return e;
  }

  // Every report left in the pipe; call after kill_and_reap.
  std::vector<int64_t> drain_reports() { return wait_reports(SIZE_MAX); }

 private:
  KilledChild() {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe() failed");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork() failed");
    if (pid_ == 0) {
      ::close(fds[0]);
      write_fd_ = fds[1];
    } else {
      ::close(fds[1]);
      read_fd_ = fds[0];
    }
  }

  std::optional<int64_t> next_report() {
    for (;;) {
      if (auto nl = pending_.find('\n'); nl != std::string::npos) {
        const int64_t v = std::stoll(pending_.substr(0, nl));
        pending_.erase(0, nl + 1);
        return v;
      }
      char buf[256];
      const ssize_t n = ::read(read_fd_, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return std::nullopt;
      pending_.append(buf, static_cast<size_t>(n));
    }
  }

  pid_t pid_ = -1;
  int read_fd_ = -1;
  int write_fd_ = -1;  // the child's, in the child only
  std::string pending_;
};

}  // namespace cdb::test
