#include "jobs/job_table.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <mutex>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "storage/sql_statement.h"

namespace cdb {

int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

// Catalog's columns of a job, then those only the runner reads.
const std::string kCols = std::string(Catalog::kJobColumns) +
                          ", corpus_version, not_before_ms, step, total_steps, loss, tokens_per_s, eta_s, cartridge_id";

JobDetails read(const Statement& s) {
  JobDetails d;
  d.row = Catalog::read_job(s);
  const int c = Catalog::kJobColumnCount;
  if (!s.is_null(c)) d.corpus_version = s.int64(c);
  d.not_before_ms = s.int64(c + 1);
  d.step = s.int64(c + 2);
  d.total_steps = s.int64(c + 3);
  if (!s.is_null(c + 4)) d.loss = s.real(c + 4);
  d.tokens_per_s = s.real(c + 5);
  d.eta_s = s.real(c + 6);
  if (!s.is_null(c + 7)) d.cartridge_id = s.int64(c + 7);
  return d;
}

bool is_auto(const std::string& params) {
  auto j = nlohmann::json::parse(params, nullptr, false);
  return j.is_object() && j.value("auto", false);
}

}  // namespace

std::optional<JobDetails> JobTable::find(int64_t id) const {
  std::lock_guard lock(catalog_.mutex());
  Statement s(catalog_.db(), "SELECT " + kCols + " FROM jobs WHERE id = ?");
  if (!s.bind_all(id).step()) return std::nullopt;
  return read(s);
}

std::vector<JobDetails> JobTable::list() const {
  std::lock_guard lock(catalog_.mutex());
  Statement s(catalog_.db(), "SELECT " + kCols + " FROM jobs ORDER BY id");
  std::vector<JobDetails> out;
  while (s.step()) out.push_back(read(s));
  return out;
}

JobRow JobTable::create(int64_t corpus_id, std::string_view params, int64_t not_before_ms) {
  Catalog::Transaction tx(catalog_);
  JobRow r = catalog_.create_job("train", corpus_id, params);
  Statement(catalog_.db(), "UPDATE jobs SET not_before_ms = ? WHERE id = ?").bind_all(not_before_ms, r.id).run();
  tx.commit();
  return r;
}

JobRow JobTable::create_or_reuse(int64_t corpus_id, std::string_view params, bool* reused,
                                 const std::function<void()>& admit) {
  Catalog::Transaction tx(catalog_);
  // PostgreSQL's read-committed transactions would let two nodes each see
  // no equal job and each queue one; holding the corpus's row makes the
  // second TRAIN wait for the first's commit and then see its job. (SQLite's
  // BEGIN IMMEDIATE already admits one writer at a time.)
  if (catalog_.dialect() == SqlDialect::PostgreSql)
    Statement(catalog_.db(), "SELECT id FROM corpora WHERE id = ? FOR UPDATE").bind_all(corpus_id).run();
  const auto wanted = nlohmann::json::parse(params, nullptr, false);
  std::optional<int64_t> latest;
  if (auto v = catalog_.latest_version(corpus_id)) latest = v->version;
  std::optional<int64_t> same;
  bool queued = false;
  {
    // A running job joins only when it trains the latest version: one that
    // started on an older one would not give this TRAIN the documents it was
    // asked after. One that has not said which yet (claimed a moment ago)
    // reads its version after this point, so at least the latest: joining
    // it closes the window in which two nodes' TRAINs made two versions.
    Statement s(catalog_.db(),
                "SELECT id, params, state, corpus_version FROM jobs WHERE corpus_id = ? AND kind = 'train' AND "
                "state IN ('queued', 'running') ORDER BY id");
    s.bind_all(corpus_id);
    while (!same && s.step()) {
      const bool is_queued = s.text(2) == "queued";
      const bool on_latest = s.is_null(3) || (latest && s.int64(3) == *latest);
      if ((is_queued || on_latest) && nlohmann::json::parse(s.text(1), nullptr, false) == wanted) {
        same = s.int64(0);
        queued = is_queued;
      }
    }
  }
  *reused = same.has_value();
  if (same) {
    // A version it was given by an interrupted run is not the one it will train.
    if (queued) Statement(catalog_.db(), "UPDATE jobs SET corpus_version = NULL WHERE id = ?").bind_all(*same).run();
    tx.commit();
    return *catalog_.job(*same);
  }
  if (admit) admit();
  JobRow r = catalog_.create_job("train", corpus_id, params);
  tx.commit();
  return r;
}

JobRow JobTable::create_superseding(int64_t corpus_id, int64_t corpus_version, std::string_view params,
                                    int64_t not_before_ms) {
  Catalog::Transaction tx(catalog_);
  bool created = false;
  JobRow r = catalog_.create_auto_job(corpus_id, corpus_version, params, not_before_ms, &created);
  if (!created) {
    tx.commit();
    return r;
  }
  std::vector<int64_t> old;
  {
    Statement s(catalog_.db(),
                "SELECT id, params FROM jobs WHERE corpus_id = ? AND state = 'queued' AND kind = 'train' AND id <> ?");
    s.bind_all(corpus_id, r.id);
    while (s.step())
      if (is_auto(s.text(1))) old.push_back(s.int64(0));
  }
  for (int64_t id : old)
    catalog_.finish_job(id, JobState::Cancelled,
                        "superseded by job " + std::to_string(r.id) + " (the corpus changed again)");
  tx.commit();
  return r;
}

std::optional<JobRow> JobTable::claim_next(std::string_view node, int64_t lease_ms, int64_t now_ms,
                                           int64_t* next_ms) {
  *next_ms = 0;
  if (auto job = catalog_.claim_job(node, lease_ms, now_ms)) {
    // The version it will train, said at once (the job says it again when
    // it reads its documents): a TRAIN arriving meanwhile, on any node,
    // then joins this job instead of queuing a second one for that version.
    if (job->corpus_id) {
      std::lock_guard lock(catalog_.mutex());
      Statement(catalog_.db(),
                "UPDATE jobs SET corpus_version = (SELECT max(version) FROM corpus_versions WHERE corpus_id = ?) "
                "WHERE id = ?")
          .bind_all(*job->corpus_id, job->id)
          .run();
    }
    return job;
  }
  std::lock_guard lock(catalog_.mutex());
  Statement m(catalog_.db(),
              "SELECT min(not_before_ms) FROM jobs WHERE state = 'queued' AND kind = 'train' AND not_before_ms > ?");
  if (m.bind_all(now_ms).step() && !m.is_null(0)) *next_ms = m.int64(0);
  return std::nullopt;
}

int JobTable::requeue_running(std::string_view node) {
  std::lock_guard lock(catalog_.mutex());
  std::string sql =
      "UPDATE jobs SET state = 'queued', progress_message = 'interrupted; resumes from its last checkpoint' "
      "WHERE state = 'running'";
  const bool shared = catalog_.dialect() == SqlDialect::PostgreSql;
  if (shared) sql += " AND (lease_owner IS NULL OR lease_owner = ?)";
  Statement s(catalog_.db(), sql);
  if (shared) s.bind_all(node);
  s.run();
  return static_cast<int>(catalog_.db().changes());
}

namespace {
// The rows a node may still change: running, and leased to it (or to no
// node: rows of a runner that predates leases).
constexpr const char* kHeldBy = " AND state = 'running' AND (lease_owner IS NULL OR lease_owner = ?)";
}  // namespace

bool JobTable::requeue(int64_t id, std::string_view node, std::string_view message) {
  std::lock_guard lock(catalog_.mutex());
  Statement(catalog_.db(), std::string("UPDATE jobs SET state = 'queued', progress_message = ? WHERE id = ?") + kHeldBy)
      .bind_all(message, id, node)
      .run();
  return catalog_.db().changes() > 0;
}

bool JobTable::finish(int64_t id, std::string_view node, JobState state, const std::optional<std::string>& error) {
  if (!is_finished(state))
    throw InvalidArgument("JobTable::finish: state must be done, failed or cancelled, not '" +
                          std::string(to_string(state)) + "'");
  std::lock_guard lock(catalog_.mutex());
  Statement(catalog_.db(),
            std::string("UPDATE jobs SET state = ?, error = ?, progress = CASE WHEN ? = 'done' THEN 1 ELSE progress "
                        "END, finished_at = ") +
                catalog_.db().now_sql() + " WHERE id = ?" + kHeldBy)
      .bind_all(to_string(state), error, to_string(state), id, node)
      .run();
  return catalog_.db().changes() > 0;
}

bool JobTable::complete(int64_t id, std::string_view node, int64_t cartridge_id) {
  std::lock_guard lock(catalog_.mutex());
  Statement(catalog_.db(), std::string("UPDATE jobs SET state = 'done', error = NULL, progress = 1, cartridge_id = ?, "
                                       "finished_at = ") +
                               catalog_.db().now_sql() + " WHERE id = ?" + kHeldBy)
      .bind_all(cartridge_id, id, node)
      .run();
  return catalog_.db().changes() > 0;
}

void JobTable::set_version(int64_t id, int64_t v) {
  std::lock_guard lock(catalog_.mutex());
  Statement(catalog_.db(), "UPDATE jobs SET corpus_version = ? WHERE id = ?").bind_all(v, id).run();
}

void JobTable::set_progress(const JobProgress& p, std::string_view node) {
  std::lock_guard lock(catalog_.mutex());
  std::optional<double> loss;
  if (std::isfinite(p.loss)) loss = p.loss;
  std::string sql =
      "UPDATE jobs SET progress = ?, progress_message = ?, step = ?, total_steps = ?, loss = ?, tokens_per_s = ?, "
      "eta_s = ? WHERE id = ?";
  if (!node.empty()) sql += kHeldBy;
  Statement s(catalog_.db(), sql);
  if (node.empty())
    s.bind_all(std::clamp(p.fraction, 0.0, 1.0), p.message, p.step, p.total_steps, loss, p.tokens_per_s, p.eta_s, p.job);
  else
    s.bind_all(std::clamp(p.fraction, 0.0, 1.0), p.message, p.step, p.total_steps, loss, p.tokens_per_s, p.eta_s, p.job,
               node);
  s.run();
}

void JobTable::set_cartridge(int64_t id, int64_t cartridge_id) {
  std::lock_guard lock(catalog_.mutex());
  Statement(catalog_.db(), "UPDATE jobs SET cartridge_id = ? WHERE id = ?").bind_all(cartridge_id, id).run();
}

}  // namespace cdb
