// Runs training jobs on worker threads while queries keep being served.
//
// Jobs live in the jobs table, so they survive the process: a job left
// running by a process that died is queued again at start and its runner
// resumes from the job's last checkpoint. A job waits until its
// not_before_ms (auto_train's debounce). Cancelling a running job stops it
// after the current step; shutting down gives running jobs back to the
// queue (they resume at the next open) instead of failing them.
//
// What a job does is the JobFunction the owner passes (the Database trains
// a Cartridge), so the runner itself knows nothing of models.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "jobs/job_progress.h"
#include "jobs/job_table.h"

namespace cdb {

// Handed to a running job: its cancellation flag and its progress sink.
class JobControl {
 public:
  virtual ~JobControl() = default;
  // True once CANCEL JOB or shutdown asked the job to stop; the job then
  // saves what lets it resume and throws Cancelled.
  virtual bool stop_requested() const = 0;
  // Writes the numbers to the jobs row and wakes waiters.
  virtual void report(const JobProgress& progress) = 0;
};

// Runs the job to the end and returns the Cartridge id it produced.
using JobFunction = std::function<int64_t(const JobRow& job, JobControl& control)>;

class JobRunner {
 public:
  JobRunner(Catalog& catalog, JobFunction run, int workers);
  ~JobRunner();  // stop()
  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;

  // Queues jobs left running by a dead process and starts the workers.
  void start();
  // Asks running jobs to stop (they go back to the queue) and joins.
  void stop();
  bool running() const { return !threads_.empty(); }

  JobTable& table() { return table_; }
  // Called with a job's id when it ends cancelled or failed (not when it
  // goes back to the queue): to delete what it kept for a resume.
  void set_discard(std::function<void(int64_t job)> discard) { discard_ = std::move(discard); }

  // Wakes the workers after a job was queued.
  void notify();
  // CANCEL JOB: a queued job is cancelled at once, a running one after its
  // current step. NotFound when absent; InvalidArgument when already over.
  void cancel(int64_t job);
  // Cancels every queued and running job of a corpus and waits until none
  // of them runs any more (DROP CORPUS).
  void cancel_corpus(int64_t corpus_id);
  // Blocks until the job is done, failed or cancelled; calls on_progress
  // with each new report (in this thread). Returns the final row. Throws
  // InvalidArgument when no worker runs (the job could never end), and
  // Cancelled when is_cancelled (polled every 50 ms) returns true: the
  // waiting stops, the job itself goes on.
  JobDetails wait(int64_t job, const ProgressCallback& on_progress,
                  const std::function<bool()>& is_cancelled = {});

 private:
  class Control;
  void worker_loop();
  void run_one(const JobRow& job);

  Catalog& catalog_;
  JobTable table_;
  JobFunction run_;
  std::function<void(int64_t)> discard_;
  int workers_;
  std::vector<std::thread> threads_;

  mutable std::mutex mu_;
  std::condition_variable wake_;     // workers: a job may be runnable
  std::condition_variable changed_;  // waiters: progress or a state changed
  bool stopping_ = false;
  uint64_t generation_ = 0;          // bumped on every change waiters care about
  std::map<int64_t, bool> running_;  // job id -> cancel requested
  std::map<int64_t, std::pair<uint64_t, JobProgress>> latest_;  // job -> (sequence, last report)
};

}  // namespace cdb
