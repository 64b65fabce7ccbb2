// Runs the real `cartridge` binary for the shell tests: once with given
// standard input (captured output and exit status), or on a pseudo-terminal
// that a test types into.
#pragma once

#include <pty.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/models_dir.h"
#include "support/shell_quote.h"
#include "support/temp_dir.h"

namespace cdb::test {

inline std::string cartridge_bin() { return std::string(CDB_BIN_DIR) + "/cartridge"; }
inline std::string stories_model() { return cdb::model_file("stories260K/stories260K.bin").string(); }
inline std::string stories_tokenizer() { return cdb::model_file("stories260K/tok512.bin").string(); }

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct ProcessRun {
  int status = -1;
  std::string out, err;
  std::string transcript() const { return "exit " + std::to_string(status) + "\n--- stdout\n" + out + "--- stderr\n" + err; }
};

// `cartridge ARGS` in `cwd`, `input` on its standard input (a file, so not a
// terminal), stdout and stderr captured separately.
inline ProcessRun run_cartridge(const std::vector<std::string>& args, const std::string& input,
                         const std::filesystem::path& cwd, const std::string& env = "") {
  TempDir io("shell-io");
  {
    std::ofstream(io.path() / "in") << input;
  }
  std::string cmd = "cd " + shell_quote(cwd.string()) + " && " + env + " " + shell_quote(cartridge_bin());
  for (const auto& a : args) cmd += " " + shell_quote(a);
  cmd += " <" + shell_quote((io.path() / "in").string()) + " >" + shell_quote((io.path() / "out").string()) + " 2>" +
         shell_quote((io.path() / "err").string());
  ProcessRun r;
  const int rc = std::system(cmd.c_str());
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
  r.out = slurp(io.path() / "out");
  r.err = slurp(io.path() / "err");
  return r;
}

// `cartridge ARGS` on a pseudo-terminal, as a person would run it.
class PtyShell {
 public:
  PtyShell(const std::vector<std::string>& args, const std::filesystem::path& home) {
    std::vector<std::string> argv_s = {cartridge_bin()};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    struct winsize ws {};
    ws.ws_row = 40;
    ws.ws_col = 200;
    // Everything the child needs is built before fork(): after it, only
    // async-signal-safe calls.
    std::vector<std::string> env_s = {"HOME=" + home.string(), "CARTRIDGE_HISTORY=" + (home / "history").string(),
                                      "TERM=dumb", "INPUTRC=/dev/null"};
    for (char** e = environ; *e; ++e) {
      const std::string kv = *e;
      const std::string key = kv.substr(0, kv.find('='));
      if (key != "HOME" && key != "CARTRIDGE_HISTORY" && key != "TERM" && key != "INPUTRC") env_s.push_back(kv);
    }
    std::vector<char*> argv, envp;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);
    pid_ = forkpty(&fd_, nullptr, nullptr, &ws);
    if (pid_ < 0) throw std::runtime_error("forkpty failed");
    if (pid_ == 0) {
      execve(argv[0], argv.data(), envp.data());
      _exit(127);
    }
  }
  ~PtyShell() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) close(fd_);
  }
  PtyShell(const PtyShell&) = delete;
  PtyShell& operator=(const PtyShell&) = delete;

  void send(const std::string& text) {
    if (write(fd_, text.data(), text.size()) != static_cast<ssize_t>(text.size())) throw std::runtime_error("write to pty");
  }

  // Reads until `needle` appears after `from` in the transcript (returns
  // where it ends) or `seconds` pass (returns npos).
  size_t wait_for(const std::string& needle, size_t from = 0, double seconds = 60) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (true) {
      if (size_t at = transcript_.find(needle, from); at != std::string::npos) return at + needle.size();
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !read_some(static_cast<int>(left.count()))) return std::string::npos;
    }
  }

  // The exit status once the process ends within `seconds`, else -1.
  int wait_exit(double seconds = 30) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        while (read_some(50)) {
        }
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      read_some(50);
    }
    return -1;
  }

  const std::string& transcript() const { return transcript_; }
  size_t size() const { return transcript_.size(); }

 private:
  bool read_some(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return false;
    char buf[4096];
    const ssize_t n = read(fd_, buf, sizeof buf);
    if (n <= 0) return false;  // EIO once the child has closed the terminal
    transcript_.append(buf, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  pid_t pid_ = -1;
  bool exited_ = false;
  std::string transcript_;
};

}  // namespace cdb::test
