// SelectReaderPool: the idle SELECT pass-through readers of one catalog,
// shared by every session of a Database. A reader holds a connection (on
// PostgreSQL a server process, and an in-memory copy), so they are kept per
// SELECT in flight across the node, not per session: a thousand idle
// sessions hold none.
//
// Contract: take() hands out an idle reader, else opens one
// (open_select_pass_through); give_back() keeps it for the next statement,
// up to max_idle, and closes the rest. A reader carries nothing of the
// statement or session that used it last (visibility and cancel are given
// per statement).
//
// Thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "storage/select_pass_through.h"

namespace cdb {

class SelectReaderPool {
 public:
  explicit SelectReaderPool(const Catalog& catalog, size_t max_idle = 16) : catalog_(catalog), max_idle_(max_idle) {}
  SelectReaderPool(const SelectReaderPool&) = delete;
  SelectReaderPool& operator=(const SelectReaderPool&) = delete;

  std::unique_ptr<SelectPassThrough> take() {
    {
      std::lock_guard lock(mu_);
      if (!idle_.empty()) {
        auto r = std::move(idle_.back());
        idle_.pop_back();
        return r;
      }
    }
    return open_select_pass_through(catalog_);  // outside the lock: it may connect
  }

  void give_back(std::unique_ptr<SelectPassThrough> r) {
    if (!r) return;
    std::unique_lock lock(mu_);
    if (idle_.size() < max_idle_) {
      idle_.push_back(std::move(r));
      return;
    }
    lock.unlock();  // r closes outside the lock
  }

  size_t idle() const {
    std::lock_guard lock(mu_);
    return idle_.size();
  }

 private:
  const Catalog& catalog_;
  size_t max_idle_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<SelectPassThrough>> idle_;
};

}  // namespace cdb
