// Access: what a session's identity may do with corpora and jobs, and its
// quotas; the Executor asks before each statement acts (docs/server.md,
// "Security model").
//
//   superuser  everything
//   owner      (the user who created the corpus) everything on it: DROP,
//              documents (ADD, REMOVE, LOAD), TRAIN, CANCEL its jobs,
//              PIN, GRANT / REVOKE, and what USAGE allows
//   USAGE      (granted to the user or to PUBLIC) ASK / EXPLAIN with it,
//              and see it: SHOW, WAIT JOB, SELECT rows
//   no owner   (corpora created before roles, or by the embedded library)
//              superusers only
//
// Refusals throw PermissionDenied naming what is missing; a quota reached
// throws QuotaExceeded naming the quota and its value.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "db/session_identity.h"

namespace cdb {

class Catalog;
struct CorpusRow;
struct JobRow;

class Access {
 public:
  Access(Catalog& catalog, SessionIdentity identity) : catalog_(catalog), id_(std::move(identity)) {}

  const SessionIdentity& identity() const { return id_; }
  bool superuser() const { return id_.superuser; }

  bool may_use(int64_t corpus_id) const;
  bool owns(int64_t corpus_id) const;  // owner or superuser
  // Which corpora this session may use, decided now: the SELECT
  // pass-through's row filter and the SHOW statements' (a grant made later
  // is seen by the next statement).
  std::function<bool(int64_t corpus_id)> usable_corpora() const;

  // `statement` names the statement in the message, e.g. "ASK".
  void require_usage(const CorpusRow& corpus, std::string_view statement) const;
  void require_owner(const CorpusRow& corpus, std::string_view statement) const;
  // A job is its corpus's: CANCEL needs its ownership, WAIT its usage. A job
  // without a corpus is the superusers'.
  void require_job_owner(const JobRow& job, std::string_view statement) const;
  void require_job_usage(const JobRow& job, std::string_view statement) const;

  // Quotas: before creating a corpus, storing `adding` more document bytes,
  // and queuing a job of `steps` steps.
  void check_corpus_quota() const;
  void check_bytes_quota(int64_t adding) const;
  void check_train_quota(int64_t steps) const;
  // The steps of one job, also auto_train's (CREATE CORPUS ... train_steps);
  // `what` names the setting in the message.
  void check_steps_quota(int64_t steps, std::string_view what) const;

 private:
  std::string owner_phrase(int64_t corpus_id) const;

  Catalog& catalog_;
  SessionIdentity id_;
};

}  // namespace cdb
