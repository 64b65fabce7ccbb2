#include "common/thread_pool.h"

namespace cdb {

int ThreadPool::resolve(int threads) {
  if (threads > 0) return threads;
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

ThreadPool::ThreadPool(int threads) : size_(resolve(threads)) {
  threads_.reserve(size_ - 1);
  for (int w = 1; w < size_; ++w) threads_.emplace_back([this, w] { worker_main(w); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : threads_) t.join();
}

// Items are handed out one at a time under the lock; loops here run a few
// dozen multi-megabyte items, so the lock is never the bottleneck.
void ThreadPool::run_items(int worker) {
  std::unique_lock lock(mu_);
  while (next_ < n_) {
    size_t i = next_++;
    bool failed = static_cast<bool>(error_);
    lock.unlock();
    if (!failed) {
      try {
        (*fn_)(i, worker);
      } catch (...) {
        std::lock_guard relock(mu_);
        if (!error_) error_ = std::current_exception();
      }
    }
    lock.lock();
  }
}

void ThreadPool::worker_main(int worker) {
  size_t seen = 0;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      work_cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      ++busy_;
    }
    run_items(worker);
    {
      std::lock_guard lock(mu_);
      --busy_;
    }
    done_cv_.notify_all();
  }
}

void ThreadPool::parallel_for(size_t n, const std::function<void(size_t, int)>& fn) {
  if (n == 0) return;
  if (size_ == 1 || n == 1) {
    for (size_t i = 0; i < n; ++i) fn(i, 0);
    return;
  }
  {
    std::lock_guard lock(mu_);
    fn_ = &fn;
    n_ = n;
    next_ = 0;
    error_ = nullptr;
    ++generation_;
  }
  work_cv_.notify_all();
  run_items(0);
  std::exception_ptr error;
  {
    std::unique_lock lock(mu_);
    done_cv_.wait(lock, [&] { return busy_ == 0 && next_ >= n_; });
    fn_ = nullptr;
    n_ = 0;
    error = error_;
    error_ = nullptr;
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace cdb
