// ConnectionWatchdog: deadlines for blocking socket calls. Each HTTP
// connection runs on its own thread with blocking reads and writes (Asio's
// blocking calls ignore SO_RCVTIMEO: they poll again), so a client that
// stops sending or reading would hold its thread forever. A connection
// arms a deadline before it blocks and disarms it after; one watchdog
// thread shuts down (shutdown(2), both ways) every socket whose deadline
// passed, which makes the blocked call fail at once. stop_all() does the
// same to every socket, for the server's shutdown.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>

namespace cdb::http {

class ConnectionWatchdog {
 public:
  using Clock = std::chrono::steady_clock;

  ConnectionWatchdog();
  ~ConnectionWatchdog();
  ConnectionWatchdog(const ConnectionWatchdog&) = delete;
  ConnectionWatchdog& operator=(const ConnectionWatchdog&) = delete;

  // Watches socket `fd` from now until forget(fd); nothing is armed yet.
  void watch(int fd);
  void forget(int fd);
  // The socket is shut down at `deadline` unless disarmed before.
  void arm(int fd, Clock::time_point deadline);
  void disarm(int fd);
  // Shuts down every watched socket now (and any watched later).
  void stop_all();

 private:
  void loop();

  std::mutex mu_;
  std::condition_variable wake_;
  std::map<int, Clock::time_point> fds_;  // time_point::max(): not armed
  bool stopping_ = false;
  bool closed_ = false;  // the watchdog thread ends
  std::thread thread_;
};

}  // namespace cdb::http
