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
  const auto wanted = nlohmann::json::parse(params, nullptr, false);
  std::optional<int64_t> same;
  {
    Statement s(catalog_.db(),
                "SELECT id, params FROM jobs WHERE corpus_id = ? AND state = 'queued' AND kind = 'train' ORDER BY id");
    s.bind_all(corpus_id);
    while (!same && s.step())
      if (nlohmann::json::parse(s.text(1), nullptr, false) == wanted) same = s.int64(0);
  }
  *reused = same.has_value();
  if (same) {
    // A version it was given by an interrupted run is not the one it will train.
    Statement(catalog_.db(), "UPDATE jobs SET corpus_version = NULL WHERE id = ?").bind_all(*same).run();
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

std::optional<JobRow> JobTable::claim_next(int64_t now_ms, int64_t* next_ms) {
  Catalog::Transaction tx(catalog_);
  *next_ms = 0;
  int64_t id = 0, nb = 0;
  {
    Statement s(catalog_.db(),
                "SELECT id, not_before_ms FROM jobs WHERE state = 'queued' AND kind = 'train' "
                "ORDER BY not_before_ms > ?, id LIMIT 1");
    if (!s.bind_all(now_ms).step()) return std::nullopt;
    id = s.int64(0);
    nb = s.int64(1);
  }
  if (nb > now_ms) {
    Statement m(catalog_.db(), "SELECT min(not_before_ms) FROM jobs WHERE state = 'queued' AND kind = 'train'");
    m.step();
    *next_ms = m.int64(0);
    return std::nullopt;
  }
  catalog_.start_job(id);
  tx.commit();
  return catalog_.job(id);
}

int JobTable::requeue_running() {
  std::lock_guard lock(catalog_.mutex());
  Statement(catalog_.db(),
            "UPDATE jobs SET state = 'queued', progress_message = 'interrupted; resumes from its last checkpoint' "
            "WHERE state = 'running'")
      .run();
  return static_cast<int>(catalog_.db().changes());
}

void JobTable::requeue(int64_t id, std::string_view message) {
  std::lock_guard lock(catalog_.mutex());
  Statement(catalog_.db(), "UPDATE jobs SET state = 'queued', progress_message = ? WHERE id = ? AND state = 'running'")
      .bind_all(message, id)
      .run();
}

void JobTable::set_version(int64_t id, int64_t v) {
  std::lock_guard lock(catalog_.mutex());
  Statement(catalog_.db(), "UPDATE jobs SET corpus_version = ? WHERE id = ?").bind_all(v, id).run();
}

void JobTable::set_progress(const JobProgress& p) {
  std::lock_guard lock(catalog_.mutex());
  std::optional<double> loss;
  if (std::isfinite(p.loss)) loss = p.loss;
  Statement(catalog_.db(),
            "UPDATE jobs SET progress = ?, progress_message = ?, step = ?, total_steps = ?, loss = ?, tokens_per_s = ?, "
            "eta_s = ? WHERE id = ?")
      .bind_all(std::clamp(p.fraction, 0.0, 1.0), p.message, p.step, p.total_steps, loss, p.tokens_per_s, p.eta_s, p.job)
      .run();
}

void JobTable::set_cartridge(int64_t id, int64_t cartridge_id) {
  std::lock_guard lock(catalog_.mutex());
  Statement(catalog_.db(), "UPDATE jobs SET cartridge_id = ? WHERE id = ?").bind_all(cartridge_id, id).run();
}

}  // namespace cdb
