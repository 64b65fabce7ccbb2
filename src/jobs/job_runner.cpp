#include "jobs/job_runner.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <tuple>

#include <unistd.h>

#include "common/error.h"

namespace cdb {

namespace {

std::string default_node_name() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || !host[0]) std::snprintf(host, sizeof host, "localhost");
  return std::string(host) + ":" + std::to_string(::getpid());
}

}  // namespace

class JobRunner::Control : public JobControl {
 public:
  Control(JobRunner& r, int64_t id) : r_(r), id_(id) {}
  bool stop_requested() const override {
    std::lock_guard lock(r_.mu_);
    auto it = r_.running_.find(id_);
    return r_.stopping_ || (it != r_.running_.end() && it->second) || r_.lost_.count(id_);
  }
  void report(const JobProgress& p) override {
    JobProgress q = p;
    q.job = id_;
    q.state = JobState::Running;
    r_.table_.set_progress(q, r_.lease_.node_name);
    std::lock_guard lock(r_.mu_);
    r_.latest_[id_] = {++r_.generation_, q};
    r_.changed_.notify_all();
  }
  void complete(int64_t cartridge_id) override {
    if (!r_.table_.complete(id_, r_.lease_.node_name, cartridge_id)) {
      {
        std::lock_guard lock(r_.mu_);
        r_.lost_.insert(id_);
      }
      throw Cancelled("job " + std::to_string(id_) + ": node '" + r_.lease_.node_name +
                      "' lost the job's lease before publishing (another node holds it, or it was cancelled); "
                      "its Cartridge is not published");
    }
    completed_ = true;
  }
  bool completed() const { return completed_; }

 private:
  JobRunner& r_;
  int64_t id_;
  bool completed_ = false;
};

JobRunner::JobRunner(Catalog& catalog, JobFunction run, int workers, JobLeaseOptions lease)
    : catalog_(catalog), table_(catalog), run_(std::move(run)), workers_(std::max(workers, 1)), lease_(std::move(lease)) {
  if (lease_.node_name.empty()) lease_.node_name = default_node_name();
  if (lease_.lease_ms <= 0) throw InvalidArgument("the job lease must be longer than 0 ms (--job-lease)");
  if (lease_.renew_ms <= 0) lease_.renew_ms = std::max<int64_t>(lease_.lease_ms / 3, 1);
  if (lease_.renew_ms >= lease_.lease_ms)
    throw InvalidArgument("the job lease renewal interval (" + std::to_string(lease_.renew_ms) +
                          " ms, --job-renew) must be shorter than the lease (" + std::to_string(lease_.lease_ms) +
                          " ms, --job-lease), or every lease would lapse before it is renewed");
}

JobRunner::~JobRunner() { stop(); }

void JobRunner::start() {
  if (!threads_.empty()) return;
  table_.requeue_running(lease_.node_name);
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
  }
  {
    std::lock_guard lock(mu_);
    keeper_stop_ = false;
  }
  keeper_ = std::thread([this] { keep_leases(); });
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
  // After the workers: their jobs' leases are kept until they are given back.
  {
    std::lock_guard lock(mu_);
    keeper_stop_ = true;
  }
  keeper_wake_.notify_all();
  if (keeper_.joinable()) keeper_.join();
}

void JobRunner::notify() { wake_.notify_all(); }

void JobRunner::keep_leases() {
  std::unique_lock lock(mu_);
  for (;;) {
    keeper_wake_.wait_for(lock, std::chrono::milliseconds(lease_.renew_ms), [&] { return keeper_stop_; });
    if (keeper_stop_) return;
    std::vector<int64_t> held;
    for (const auto& [id, cancel] : running_)
      if (!lost_.count(id)) held.push_back(id);
    lock.unlock();
    std::vector<int64_t> lost;
    for (int64_t id : held) {
      try {
        if (!catalog_.renew_lease(id, lease_.node_name, lease_.lease_ms, unix_ms_now())) lost.push_back(id);
      } catch (const Error& e) {
        // The catalog is unreachable: try again at the next tick. If the
        // lease lapses meanwhile, the next renewal says so and the job stops.
        std::fprintf(stderr, "cartridgedb: renewing the lease of job %lld: %s\n", static_cast<long long>(id), e.what());
      }
    }
    lock.lock();
    for (int64_t id : lost) {
      if (!running_.count(id)) continue;  // it ended meanwhile
      lost_.insert(id);
      std::fprintf(stderr, "cartridgedb: node '%s' lost the lease of job %lld (another node holds it now, or it "
                   "was cancelled); stopping it here\n", lease_.node_name.c_str(), static_cast<long long>(id));
    }
  }
}

void JobRunner::worker_loop() {
  for (;;) {
    std::optional<JobRow> job;
    int64_t next_ms = 0;
    {
      std::unique_lock lock(mu_);
      if (stopping_) return;
    }
    try {
      job = table_.claim_next(lease_.node_name, lease_.lease_ms, unix_ms_now(), &next_ms);
    } catch (const Error&) {
      // The catalog is busy or failing; try again shortly rather than die.
    }
    if (job) {
      if (job->attempts > 1)
        std::fprintf(stderr, "cartridgedb: node '%s' resumes job %lld (attempt %lld) from its last checkpoint\n",
                     lease_.node_name.c_str(), static_cast<long long>(job->id), static_cast<long long>(job->attempts));
      run_one(*job);
      continue;
    }
    std::unique_lock lock(mu_);
    if (stopping_) return;
    // Sleep until notified, until the earliest debounced job may start, or
    // a second at most (a cheap safety net for missed notifications, and
    // how soon an expired lease of another node is noticed).
    auto wait_ms = std::chrono::milliseconds(1000);
    if (next_ms > 0) wait_ms = std::min(wait_ms, std::chrono::milliseconds(std::max<int64_t>(next_ms - unix_ms_now(), 1)));
    wake_.wait_for(lock, wait_ms);
  }
}

void JobRunner::run_one(const JobRow& job) {
  {
    std::lock_guard lock(mu_);
    running_[job.id] = false;
    lost_.erase(job.id);
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
    // A JobFunction that published no Cartridge in its own transaction.
    if (!control.completed()) {
      Catalog::Transaction tx(catalog_);
      control.complete(cartridge);
      tx.commit();
    }
  } catch (const Cancelled& e) {
    std::lock_guard lock(mu_);
    if (running_[job.id] && !lost_.count(job.id)) {
      state = JobState::Cancelled;
      error = "cancelled by CANCEL JOB";
    } else {
      requeued = true;  // shutdown: resume at the next open; or the lease is lost: nothing to give back
    }
  } catch (const std::exception& e) {
    state = JobState::Failed;
    error = e.what();
  }
  bool lost = false;
  {
    std::lock_guard lock(mu_);
    lost = lost_.count(job.id) > 0;
  }
  bool ended_here = false;
  try {
    if (control.completed()) ended_here = true;
    else if (lost) ended_here = false;  // the row is another node's now
    else if (requeued) table_.requeue(job.id, lease_.node_name, "stopped at shutdown; resumes from its last checkpoint");
    else ended_here = table_.finish(job.id, lease_.node_name, state, error);
  } catch (const Error&) {
    // The row stays 'running' and its lease lapses: this node requeues it
    // at its next start, another node claims it once the lease expires.
  }
  if (ended_here && state != JobState::Done && discard_) {
    try {
      discard_(job.id);
    } catch (const std::exception&) {
    }
  }
  if (lost) after_lost(job.id);
  {
    std::lock_guard lock(mu_);
    running_.erase(job.id);
    lost_.erase(job.id);
    latest_.erase(job.id);
    ++generation_;
  }
  changed_.notify_all();
}

void JobRunner::after_lost(int64_t id) {
  try {
    auto row = catalog_.job(id);
    if (row && (row->state == JobState::Cancelled || row->state == JobState::Failed) && discard_) discard_(id);
  } catch (const std::exception&) {
    // What it kept stays; a later discard or the job's next run finds it.
  }
}

bool JobRunner::cancel_row_if(int64_t id, JobState expected, const std::string& why) {
  {
    Catalog::Transaction tx(catalog_);
    auto now = catalog_.job(id);
    if (!now || now->state != expected) return false;
    catalog_.finish_job(id, JobState::Cancelled, why);
    tx.commit();
  }
  std::lock_guard lock(mu_);
  ++generation_;
  changed_.notify_all();
  return true;
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
  if (d->row.state == JobState::Queued &&
      cancel_row_if(id, JobState::Queued, "cancelled by CANCEL JOB before it started"))
    return;
  // Claimed between our two looks: it is running now.
  {
    std::lock_guard lock(mu_);
    auto it = running_.find(id);
    if (it != running_.end()) {
      it->second = true;
      return;
    }
  }
  // Running on another node: its row is cancelled here, and that node's
  // next lease renewal fails, which stops the job there.
  if (cancel_row_if(id, JobState::Running, "cancelled by CANCEL JOB on node '" + lease_.node_name + "'")) return;
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

namespace {
// What a job another node runs last wrote to its row, as that node's runner
// reported it. The row keeps no phase; TrainingJob's messages tell it:
// "synthesizing 3/8 conversations", "step 5/60 loss ...", "saving ...".
JobProgress progress_of_row(const JobDetails& d) {
  JobProgress p;
  p.job = d.row.id;
  p.state = d.row.state;
  const std::string& m = d.row.progress_message;
  p.phase = m.starts_with("step ") ? "training" : m.substr(0, m.find(' '));
  p.fraction = d.row.progress;
  p.step = d.step;
  p.total_steps = d.total_steps;
  if (d.loss) p.loss = *d.loss;
  p.tokens_per_s = d.tokens_per_s;
  p.eta_s = d.eta_s;
  p.message = d.row.progress_message;
  return p;
}
}  // namespace

JobDetails JobRunner::wait(int64_t id, const ProgressCallback& on_progress,
                           const std::function<bool()>& is_cancelled) {
  uint64_t delivered = 0;  // sequence number of the last report passed on
  // A job another node runs reports here only through its row, which the
  // loop reads anyway: each change of it is passed on as a report.
  std::optional<std::tuple<double, int64_t, std::string>> row_seen;
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
    if (on_progress && it == latest_.end() && d->row.state == JobState::Running) {
      auto seen = std::make_tuple(d->row.progress, d->step, d->row.progress_message);
      if (seen != row_seen) {
        row_seen = std::move(seen);
        lock.unlock();
        on_progress(progress_of_row(*d));
        continue;
      }
    }
    const uint64_t now = generation_;
        // Short when someone may cancel the wait, so that it reacts at once.
    changed_.wait_for(lock, std::chrono::milliseconds(is_cancelled ? 50 : 500), [&] { return generation_ != now; });
  }
}

}  // namespace cdb
