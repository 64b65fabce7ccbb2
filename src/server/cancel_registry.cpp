#include "server/cancel_registry.h"

#include <cstring>

#include "server/scram.h"

namespace cdb::server {

CancelRegistry::Key CancelRegistry::add(std::shared_ptr<std::atomic<bool>> flag) {
  // The secret must not be guessable: a cancel needs no authentication.
  const std::string r = random_bytes(4);
  Key key;
  std::memcpy(&key.secret, r.data(), 4);
  std::lock_guard lock(mu_);
  do {
    key.pid = next_pid_;
    next_pid_ = next_pid_ == INT32_MAX ? 1 : next_pid_ + 1;
  } while (entries_.count(key.pid));
  entries_[key.pid] = {key.secret, std::move(flag)};
  return key;
}

void CancelRegistry::remove(int32_t pid) {
  std::lock_guard lock(mu_);
  entries_.erase(pid);
}

bool CancelRegistry::cancel(Key key) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key.pid);
  if (it == entries_.end() || it->second.secret != key.secret) return false;
  auto flag = it->second.flag.lock();
  if (!flag) return false;
  flag->store(true);
  return true;
}

}  // namespace cdb::server
