#include "jobs/job_runner.h"

#include <algorithm>
#include <chrono>

#include "common/error.h"

namespace cdb {

class JobRunner::Control : public JobControl {
 public:
  Control(JobRunner& r, int64_t id) : r_(r), id_(id) {}
  bool stop_requested() const override {
    std::lock_guard lock(r_.mu_);
    auto it = r_.running_.find(id_);
    return r_.stopping_ || (it != r_.running_.end() && it->second);
  }
  void report(const JobProgress& p) override {
    JobProgress q = p;
    q.job = id_;
    q.state = JobState::Running;
    r_.table_.set_progress(q);
    std::lock_guard lock(r_.mu_);
    r_.latest_[id_] = {++r_.generation_, q};
    r_.changed_.notify_all();
  }

 private:
  JobRunner& r_;
  int64_t id_;
};

JobRunner::JobRunner(Catalog& catalog, JobFunction run, int workers)
    : catalog_(catalog), table_(catalog), run_(std::move(run)), workers_(std::max(workers, 1)) {}

JobRunner::~JobRunner() { stop(); }

void JobRunner::start() {
  if (!threads_.empty()) return;
  table_.requeue_running();
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
  }
  for (int i = 0; i < workers_; ++i) threads_.emplace_back([this] { worker_loop(); });
}

void JobRunner::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    ++generation_;
  }
  wake_.notify_all();
  changed_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void JobRunner::notify() { wake_.notify_all(); }

void JobRunner::worker_loop() {
  for (;;) {
    std::optional<JobRow> job;
    int64_t next_ms = 0;
    {
      std::unique_lock lock(mu_);
      if (stopping_) return;
    }
    try {
      job = table_.claim_next(unix_ms_now(), &next_ms);
    } catch (const Error&) {
      // The catalog is busy or failing; try again shortly rather than die.
    }
    if (job) {
      run_one(*job);
      continue;
    }
    std::unique_lock lock(mu_);
    if (stopping_) return;
    // Sleep until notified, until the earliest debounced job may start, or
    // a second at most (a cheap safety net for missed notifications).
    auto wait_ms = std::chrono::milliseconds(1000);
    if (next_ms > 0) wait_ms = std::min(wait_ms, std::chrono::milliseconds(std::max<int64_t>(next_ms - unix_ms_now(), 1)));
    wake_.wait_for(lock, wait_ms);
  }
}

void JobRunner::run_one(const JobRow& job) {
  {
    std::lock_guard lock(mu_);
    running_[job.id] = false;
    JobProgress p;
    p.job = job.id;
    p.state = JobState::Running;
    p.message = "starting";
    latest_[job.id] = {++generation_, p};
  }
  changed_.notify_all();
  Control control(*this, job.id);
  JobState state = JobState::Done;
  std::optional<std::string> error;
  bool requeued = false;
  try {
    int64_t cartridge = run_(job, control);
    table_.set_cartridge(job.id, cartridge);
  } catch (const Cancelled& e) {
    std::lock_guard lock(mu_);
    if (running_[job.id]) {
      state = JobState::Cancelled;
      error = "cancelled by CANCEL JOB";
    } else {
      requeued = true;  // shutdown: resume at the next open
    }
  } catch (const std::exception& e) {
    state = JobState::Failed;
    error = e.what();
  }
  try {
    if (requeued)
      table_.requeue(job.id, "stopped at shutdown; resumes from its last checkpoint");
    else
      catalog_.finish_job(job.id, state, error);
  } catch (const Error&) {
    // The row stays 'running' and is requeued at the next open.
  }
  if (!requeued && state != JobState::Done && discard_) {
    try {
      discard_(job.id);
    } catch (const std::exception&) {
    }
  }
  {
    std::lock_guard lock(mu_);
    running_.erase(job.id);
    latest_.erase(job.id);
    ++generation_;
  }
  changed_.notify_all();
}

void JobRunner::cancel(int64_t id) {
  auto d = table_.find(id);
  if (!d) throw NotFound("no job with id " + std::to_string(id) + "; SHOW JOBS lists them");
  // A job's row turns terminal before its worker forgets it (running_), so
  // the row, not running_, says whether it is over.
  if (is_finished(d->row.state))
    throw InvalidArgument("job " + std::to_string(id) + " is already " + std::string(to_string(d->row.state)) +
                          "; only queued or running jobs can be cancelled");
  {
    std::lock_guard lock(mu_);
    auto it = running_.find(id);
    if (it != running_.end()) {
      it->second = true;
      return;
    }
  }
  if (d->row.state == JobState::Queued) {
    bool done = false;
    {
      Catalog::Transaction tx(catalog_);
      auto now = catalog_.job(id);
      if (now && now->state == JobState::Queued) {
        catalog_.finish_job(id, JobState::Cancelled, std::string("cancelled by CANCEL JOB before it started"));
        tx.commit();
        done = true;
      }
    }
    if (done) {
      std::lock_guard lock(mu_);
      ++generation_;
      changed_.notify_all();
      return;
    }
  }
  // Claimed between our two looks: it is running now.
  {
    std::lock_guard lock(mu_);
    auto it = running_.find(id);
    if (it != running_.end()) {
      it->second = true;
      return;
    }
  }
  auto again = table_.find(id);
  throw InvalidArgument("job " + std::to_string(id) + " is already " +
                        std::string(to_string(again ? again->row.state : d->row.state)) +
                        "; only queued or running jobs can be cancelled");
}

void JobRunner::cancel_corpus(int64_t corpus_id) {
  std::vector<int64_t> ids;
  for (const auto& d : table_.list()) {
    if (d.row.corpus_id != corpus_id || is_finished(d.row.state)) continue;
    ids.push_back(d.row.id);
    try {
      cancel(d.row.id);
    } catch (const InvalidArgument&) {
    }
  }
  std::unique_lock lock(mu_);
  changed_.wait(lock, [&] {
    for (int64_t id : ids)
      if (running_.count(id)) return false;
    return true;
  });
}

JobDetails JobRunner::wait(int64_t id, const ProgressCallback& on_progress,
                           const std::function<bool()>& is_cancelled) {
  uint64_t delivered = 0;  // sequence number of the last report passed on
  for (;;) {
    if (is_cancelled && is_cancelled())
      throw Cancelled("waiting for job " + std::to_string(id) + " was cancelled (the job goes on; CANCEL JOB " +
                      std::to_string(id) + " stops it)");
    auto d = table_.find(id);
    if (!d) throw NotFound("no job with id " + std::to_string(id) + "; SHOW JOBS lists them");
    if (is_finished(d->row.state)) return *d;
    std::unique_lock lock(mu_);
    if (threads_.empty() || stopping_)
      throw InvalidArgument("job " + std::to_string(id) + " is " + std::string(to_string(d->row.state)) +
                            " but no worker runs in this process (the database was opened without workers)");
    auto it = latest_.find(id);
    if (on_progress && it != latest_.end() && it->second.first != delivered) {
      delivered = it->second.first;
      JobProgress p = it->second.second;
      lock.unlock();
      on_progress(p);
      continue;
    }
    const uint64_t now = generation_;
        // Short when someone may cancel the wait, so that it reacts at once.
    changed_.wait_for(lock, std::chrono::milliseconds(is_cancelled ? 50 : 500), [&] { return generation_ != now; });
  }
}

}  // namespace cdb
