// Runs training jobs on worker threads while queries keep being served.
//
// Jobs live in the jobs table, so they survive the process, and several
// nodes sharing one PostgreSQL catalog run them between them. A worker
// claims a job under a lease (Catalog::claim_job: FOR UPDATE SKIP LOCKED),
// which a keeper thread renews every renew_ms while the job runs. A node
// that dies stops renewing: once its lease expires, any node's claim takes
// the job over and its runner resumes from the job's last checkpoint (kept
// where that node can read it: the job's scratch, training_job.h). A node
// that finds its lease gone (renew_lease false: it stalled past the lease,
// and another node holds the job now) stops the job without touching its
// row, and can no longer publish: the job's end (JobTable::complete,
// finish) checks the lease in the same statement.
//
// At start, jobs this node left running (a crash) are queued again at
// once; on SQLite, which one process opens, that is every running job.
// A job waits until its not_before_ms (auto_train's debounce). Cancelling
// a running job stops it after the current step; shutting down gives
// running jobs back to the queue (they resume at the next open, or on
// another node) instead of failing them.
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
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "jobs/job_progress.h"
#include "jobs/job_table.h"

namespace cdb {

// Handed to a running job: its cancellation flag and its progress sink.
class JobControl {
 public:
  virtual ~JobControl() = default;
  // True once CANCEL JOB or shutdown asked the job to stop, or this node
  // lost the job's lease; the job then saves what lets it resume and
  // throws Cancelled.
  virtual bool stop_requested() const = 0;
  // Writes the numbers to the jobs row and wakes waiters.
  virtual void report(const JobProgress& progress) = 0;
  // Marks the job done with the Cartridge it made. Call it inside the
  // catalog transaction that publishes the Cartridge, so that both commit
  // or neither; throws Cancelled (rolling the publication back) when this
  // node no longer holds the job.
  virtual void complete(int64_t cartridge_id) = 0;
};

// Who this node is to the other nodes, and how long its claims hold.
// Short defaults: a dead node's job moves on within seconds.
struct JobLeaseOptions {
  std::string node_name;    // --node-name; empty: "<hostname>:<pid>"
  int64_t lease_ms = 10000; // --job-lease
  int64_t renew_ms = 0;     // --job-renew; 0: a third of lease_ms
};

// Runs the job to the end and returns the Cartridge id it produced.
using JobFunction = std::function<int64_t(const JobRow& job, JobControl& control)>;

class JobRunner {
 public:
  JobRunner(Catalog& catalog, JobFunction run, int workers, JobLeaseOptions lease = {});
  ~JobRunner();  // stop()
  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;

  // Queues the jobs this node left running when it died, starts the
  // workers and the lease keeper.
  void start();
  // Asks running jobs to stop (they go back to the queue) and joins.
  void stop();
  bool running() const { return !threads_.empty(); }

  JobTable& table() { return table_; }
  const std::string& node_name() const { return lease_.node_name; }
  // Called with a job's id when it ends cancelled or failed (not when it
  // goes back to the queue): to delete what it kept for a resume.
  void set_discard(std::function<void(int64_t job)> discard) { discard_ = std::move(discard); }

  // Wakes the workers after a job was queued.
  void notify();
  // CANCEL JOB: a queued job is cancelled at once, a running one after its
  // current step (on another node: when that node next renews its lease).
  // NotFound when absent; InvalidArgument when already over.
  void cancel(int64_t job);
  // Cancels every queued and running job of a corpus and waits until none
  // of them runs any more (DROP CORPUS).
  void cancel_corpus(int64_t corpus_id);
  // Blocks until the job is done, failed or cancelled; calls on_progress
  // with each new report (in this thread): this node's runner's, or, for a
  // job another node of the fleet runs, each change of its row as the wait
  // polls it (every 50 ms with is_cancelled, else 500 ms). Returns the final row. Throws
  // InvalidArgument when no worker runs (the job could never end), and
  // Cancelled when is_cancelled (polled every 50 ms) returns true: the
  // waiting stops, the job itself goes on.
  JobDetails wait(int64_t job, const ProgressCallback& on_progress,
                  const std::function<bool()>& is_cancelled = {});

 private:
  class Control;
  void worker_loop();
  void keep_leases();
  void run_one(const JobRow& job);
  // After a job that lost its lease stopped: when it ended meanwhile
  // (cancelled or failed by another node), what it kept is deleted.
  void after_lost(int64_t job);
  // Cancels the job's row if it is still in state `expected`, in one
  // transaction; false when it is not (claimed, or over, meanwhile).
  bool cancel_row_if(int64_t job, JobState expected, const std::string& why);

  Catalog& catalog_;
  JobTable table_;
  JobFunction run_;
  std::function<void(int64_t)> discard_;
  int workers_;
  JobLeaseOptions lease_;
  std::vector<std::thread> threads_;
  std::thread keeper_;

  mutable std::mutex mu_;
  std::condition_variable wake_;     // workers: a job may be runnable
  std::condition_variable changed_;  // waiters: progress or a state changed
  bool stopping_ = false;
  bool keeper_stop_ = false;  // set once the workers are joined
  uint64_t generation_ = 0;          // bumped on every change waiters care about
  std::condition_variable keeper_wake_;
  std::map<int64_t, bool> running_;  // job id -> cancel requested
  std::set<int64_t> lost_;           // running here, but another node holds the lease now
  std::map<int64_t, std::pair<uint64_t, JobProgress>> latest_;  // job -> (sequence, last report)
};

}  // namespace cdb
