// What a CatalogEvents listener received, for tests: the callback to give
// it, and waits for the n-th event or for one equal to a given event.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "storage/catalog_event.h"
#include "storage/catalog_events.h"

namespace cdb::test {

class ReceivedEvents {
 public:
  CatalogEvents::Callback callback() {
    return [this](const CatalogEvent& e) {
      std::lock_guard lock(mu_);
      events_.push_back(e);
      cv_.notify_all();
    };
  }
  // Every event so far, once there are n (or after 10 s).
  std::vector<CatalogEvent> wait_for(size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(10), [&] { return events_.size() >= n; });
    return events_;
  }
  // Whether an event equal to `want` arrived within `limit`.
  bool wait_for(const CatalogEvent& want, std::chrono::seconds limit) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] {
      for (const auto& e : events_)
        if (e == want) return true;
      return false;
    });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<CatalogEvent> events_;
};

}  // namespace cdb::test
