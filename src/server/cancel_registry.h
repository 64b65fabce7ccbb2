// BackendKeyData for each session and the CancelRequest lookup. A cancel
// arrives on a new connection with (process id, secret key); when both
// match a live session its flag is raised, and the statement running there
// stops at its next is_cancelled poll.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

namespace cdb::server {

class CancelRegistry {
 public:
  struct Key {
    int32_t pid = 0;
    int32_t secret = 0;
  };

  // A fresh key for a session whose flag is `flag`.
  Key add(std::shared_ptr<std::atomic<bool>> flag);
  void remove(int32_t pid);
  // Raises the flag of the session with this key; false when none matches.
  bool cancel(Key key);

 private:
  struct Entry {
    int32_t secret;
    std::weak_ptr<std::atomic<bool>> flag;
  };
  std::mutex mu_;
  int32_t next_pid_ = 1;
  std::map<int32_t, Entry> entries_;
};

}  // namespace cdb::server
