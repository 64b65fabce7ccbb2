#include "http/connection_watchdog.h"

#include <sys/socket.h>

namespace cdb::http {

ConnectionWatchdog::ConnectionWatchdog() : thread_([this] { loop(); }) {}

ConnectionWatchdog::~ConnectionWatchdog() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void ConnectionWatchdog::watch(int fd) {
  std::lock_guard lock(mu_);
  fds_[fd] = Clock::time_point::max();
  if (stopping_) ::shutdown(fd, SHUT_RDWR);
}

void ConnectionWatchdog::forget(int fd) {
  std::lock_guard lock(mu_);
  fds_.erase(fd);
}

void ConnectionWatchdog::arm(int fd, Clock::time_point deadline) {
  {
    std::lock_guard lock(mu_);
    auto it = fds_.find(fd);
    if (it == fds_.end()) return;
    it->second = deadline;
  }
  wake_.notify_all();
}

void ConnectionWatchdog::disarm(int fd) {
  std::lock_guard lock(mu_);
  auto it = fds_.find(fd);
  if (it != fds_.end()) it->second = Clock::time_point::max();
}

void ConnectionWatchdog::stop_all() {
  std::lock_guard lock(mu_);
  stopping_ = true;
  for (const auto& [fd, deadline] : fds_) ::shutdown(fd, SHUT_RDWR);
}

void ConnectionWatchdog::loop() {
  std::unique_lock lock(mu_);
  while (!closed_) {
    const auto now = Clock::now();
    auto next = now + std::chrono::seconds(1);
    for (auto& [fd, deadline] : fds_) {
      if (deadline <= now) {
        // Shut down, not closed: the connection's thread still owns the
        // descriptor, and closing it here could close a reused number.
        ::shutdown(fd, SHUT_RDWR);
        deadline = Clock::time_point::max();
      } else if (deadline < next) {
        next = deadline;
      }
    }
    wake_.wait_until(lock, next);
  }
}

}  // namespace cdb::http
