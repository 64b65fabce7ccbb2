// The query engine's access to the jobs table beyond Catalog's generic job
// CRUD: claiming the next runnable job, the debounce (not_before_ms), the
// supersede rule of auto_train, progress numbers and the produced Cartridge.
// Every method is one SQL transaction, so a crash leaves each job in one of
// its states.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "jobs/job_progress.h"
#include "storage/catalog.h"

namespace cdb {

struct JobDetails {
  JobRow row;
  std::optional<int64_t> corpus_version;
  int64_t not_before_ms = 0;
  int64_t step = 0, total_steps = 0;
  std::optional<double> loss;
  double tokens_per_s = 0, eta_s = 0;
  std::optional<int64_t> cartridge_id;
};

int64_t unix_ms_now();

class JobTable {
 public:
  explicit JobTable(Catalog& catalog) : catalog_(catalog) {}

  std::optional<JobDetails> find(int64_t id) const;
  std::vector<JobDetails> list() const;

  // A queued training job for `corpus_id` that may start at not_before_ms.
  JobRow create(int64_t corpus_id, std::string_view params_json, int64_t not_before_ms);
  // TRAIN: at most one job per corpus, parameter set and corpus version.
  // When a job of `corpus_id` with equal params (as JSON values) is still
  // queued, or runs on the corpus's latest version, it is returned (*reused
  // true) instead of a new one; a queued job trains the corpus's latest
  // version when it starts, as every job does. One transaction, holding the
  // corpus's row on PostgreSQL, so two TRAINs at once, on one node or on
  // several sharing the catalog, queue one job. `admit` runs in
  // that transaction only when a new job would be queued (a quota check: a
  // TRAIN that joins a queued job adds no work); what it throws queues none.
  JobRow create_or_reuse(int64_t corpus_id, std::string_view params_json, bool* reused,
                         const std::function<void()>& admit = {});
  // auto_train: cancels every queued job of the corpus whose params say
  // "auto": true (error "superseded by job N") and queues the new one for
  // `corpus_version`, in one transaction. Returns the new job; when one was
  // already queued for that version (by this or another node sharing the
  // catalog), returns it and cancels nothing.
  JobRow create_superseding(int64_t corpus_id, int64_t corpus_version, std::string_view params_json,
                            int64_t not_before_ms);

  // Catalog::claim_job under `node`'s lease (the oldest due queued job, or
  // a running one whose lease expired); or none, with *next_ms the
  // earliest not_before_ms still ahead (0: none). The claimed job's
  // corpus_version is set to the corpus's latest at once.
  std::optional<JobRow> claim_next(std::string_view node, int64_t lease_ms, int64_t now_ms, int64_t* next_ms);
  // Jobs left running by a process that died, queued again at open: on
  // SQLite every running job (one process opens the file); on PostgreSQL
  // only those `node` held, or that no node leases, since other nodes'
  // jobs may be alive (theirs come back through their expiring leases).
  int requeue_running(std::string_view node = {});
  // A running job given back on shutdown: queued again, not counted failed.
  // False when `node` no longer holds it.
  bool requeue(int64_t id, std::string_view node, std::string_view message);
  // Ends a running job held by `node` (done, failed or cancelled); false
  // when another node holds it now, or it is over (nothing changed).
  bool finish(int64_t id, std::string_view node, JobState state, const std::optional<std::string>& error);
  // The job done with its Cartridge, in the caller's transaction (the one
  // that publishes the Cartridge, so both commit or neither). False, and
  // nothing changed, when `node` no longer holds the job.
  bool complete(int64_t id, std::string_view node, int64_t cartridge_id);

  void set_version(int64_t id, int64_t corpus_version);
  // Written only while `node` holds the job (empty: whoever does), so that
  // a node that lost it cannot overwrite the new holder's numbers.
  void set_progress(const JobProgress& p, std::string_view node = {});
  void set_cartridge(int64_t id, int64_t cartridge_id);

 private:
  Catalog& catalog_;
};

}  // namespace cdb
