// A fixed set of worker threads that runs index-parallel loops. The calling
// thread takes part in every loop, so ThreadPool(1) starts no thread at all
// and runs everything inline.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace cdb {

class ThreadPool {
 public:
  // threads <= 0 means one per hardware thread.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return size_; }

  // Calls fn(i, worker) for every i in [0, n), worker in [0, size()), and
  // returns when all calls have finished. Each worker index is used by one
  // thread at a time, so fn may keep per-worker scratch indexed by it. The
  // first exception thrown by fn is rethrown here after the loop drains.
  // Not reentrant: one parallel_for at a time per pool.
  void parallel_for(size_t n, const std::function<void(size_t i, int worker)>& fn);

  // Resolves a thread-count option: <= 0 means hardware concurrency.
  static int resolve(int threads);

 private:
  void worker_main(int worker);
  void run_items(int worker);

  int size_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  const std::function<void(size_t, int)>* fn_ = nullptr;
  size_t n_ = 0;
  size_t next_ = 0;
  size_t generation_ = 0;
  int busy_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
};

}  // namespace cdb
