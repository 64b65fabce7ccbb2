#include "db/access.h"

#include <unordered_set>
#include <vector>

#include "common/error.h"
#include "storage/catalog.h"

namespace cdb {

bool Access::may_use(int64_t corpus_id) const {
  if (id_.superuser) return true;
  return !id_.user.empty() && catalog_.may_use_corpus(corpus_id, id_.user);
}

bool Access::owns(int64_t corpus_id) const {
  if (id_.superuser) return true;
  const auto owner = catalog_.corpus_owner(corpus_id);
  return owner && !id_.user.empty() && *owner == id_.user;
}

std::function<bool(int64_t)> Access::usable_corpora() const {
  if (id_.superuser) return [](int64_t) { return true; };
  std::vector<int64_t> ids;
  if (!id_.user.empty()) ids = catalog_.usable_corpora(id_.user);
  return [set = std::unordered_set<int64_t>(ids.begin(), ids.end())](int64_t id) { return set.count(id) > 0; };
}

std::string Access::owner_phrase(int64_t corpus_id) const {
  const auto owner = catalog_.corpus_owner(corpus_id);
  return owner ? "owner " + *owner : "no owner: managed by superusers";
}

void Access::require_usage(const CorpusRow& c, std::string_view statement) const {
  if (may_use(c.id)) return;
  throw PermissionDenied("permission denied: " + std::string(statement) + " needs USAGE on corpus " + c.name + " (" +
                         owner_phrase(c.id) + "); its owner or a superuser can GRANT USAGE ON CORPUS " + c.name +
                         " TO " + id_.user);
}

void Access::require_owner(const CorpusRow& c, std::string_view statement) const {
  if (owns(c.id)) return;
  throw PermissionDenied("permission denied: " + std::string(statement) + " " + c.name +
                         " needs ownership of corpus " + c.name + " (" + owner_phrase(c.id) + ") or superuser");
}

void Access::require_job_owner(const JobRow& job, std::string_view statement) const {
  if (id_.superuser) return;
  if (job.corpus_id) {
    const auto owner = catalog_.corpus_owner(*job.corpus_id);
    if (owner && *owner == id_.user) return;
  }
  throw PermissionDenied("permission denied: " + std::string(statement) + " " + std::to_string(job.id) +
                         " needs ownership of the job's corpus" +
                         (job.corpus_id ? " (" + owner_phrase(*job.corpus_id) + ")" : std::string()) +
                         " or superuser");
}

void Access::require_job_usage(const JobRow& job, std::string_view statement) const {
  if (id_.superuser || (job.corpus_id && may_use(*job.corpus_id))) return;
  throw PermissionDenied("permission denied: " + std::string(statement) + " " + std::to_string(job.id) +
                         " needs USAGE on the job's corpus" +
                         (job.corpus_id ? " (" + owner_phrase(*job.corpus_id) + ")" : std::string()));
}

void Access::check_corpus_quota() const {
  const int64_t q = id_.quotas.corpora;
  if (id_.superuser || q == Quotas::kUnlimited) return;
  const int64_t have = catalog_.owned_corpora(id_.user);
  if (have >= q)
    throw QuotaExceeded("quota exceeded: user " + id_.user + " owns " + std::to_string(have) +
                        " corpora, the quota 'corpora' is " + std::to_string(q) +
                        "; DROP CORPUS one, or ask an administrator to raise it");
}

void Access::check_bytes_quota(int64_t adding) const {
  const int64_t q = id_.quotas.bytes_stored;
  if (id_.superuser || q == Quotas::kUnlimited) return;
  const int64_t have = catalog_.owned_document_bytes(id_.user);
  if (have + adding > q)
    throw QuotaExceeded("quota exceeded: user " + id_.user + " stores " + std::to_string(have) +
                        " document bytes; adding " + std::to_string(adding) + " would pass the quota 'bytes_stored' of " +
                        std::to_string(q) + "; REMOVE DOCUMENT some, or ask an administrator to raise it");
}

void Access::check_steps_quota(int64_t steps, std::string_view what) const {
  const int64_t q = id_.quotas.steps_per_job;
  if (id_.superuser || q == Quotas::kUnlimited || steps <= q) return;
  throw QuotaExceeded("quota exceeded: " + std::string(what) + " = " + std::to_string(steps) + " is over user " +
                      id_.user + "'s quota 'steps_per_job' of " + std::to_string(q));
}

void Access::check_train_quota(int64_t steps) const {
  if (id_.superuser) return;
  check_steps_quota(steps, "TRAIN with steps");
  const Quotas& q = id_.quotas;
  if (q.queued_jobs == Quotas::kUnlimited) return;
  const int64_t have = catalog_.owned_active_jobs(id_.user);
  if (have >= q.queued_jobs)
    throw QuotaExceeded("quota exceeded: user " + id_.user + " has " + std::to_string(have) +
                        " jobs queued or running, the quota 'queued_jobs' is " + std::to_string(q.queued_jobs) +
                        "; WAIT JOB or CANCEL JOB one first");
}

}  // namespace cdb
