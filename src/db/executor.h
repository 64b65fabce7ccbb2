// Executor: runs the statements of the query language (docs/language.md)
// against a Database, for one session (its SET values). One Executor per
// session; several may share a Database.
//
// Errors: every failure is a cdb::Error subclass whose message names what
// is at fault; errors about an option or a setting are ParseErrors at its
// position in the statement's source. A script stops at its first error
// (statements before it stay done: each statement is its own unit).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "db/access.h"
#include "jobs/job_progress.h"
#include "language/ast.h"
#include "db/query_result.h"
#include "db/server_files.h"
#include "db/session_identity.h"
#include "planner/session_settings.h"
#include "storage/select_pass_through.h"

namespace cdb {

class Database;
struct AskPlan;
struct JobDetails;

struct ExecCallbacks {
  // ASK: each piece of the answer as it is generated (UTF-8 may split
  // between calls only where a token ends mid-character).
  std::function<void(std::string_view text)> on_token;
  // WAIT JOB and TRAIN ... WAIT: each progress report of the job.
  ProgressCallback on_progress;
  // Polled while a statement runs; true stops it with Cancelled (see
  // cartridgedb::Callbacks::is_cancelled for what each statement does).
  std::function<bool()> is_cancelled;
};

class Executor {
 public:
  // `identity`: who the session acts as (default: the embedded library's
  // superuser, reading any file); every statement is checked against it.
  explicit Executor(Database& db, SessionIdentity identity = {});

  QueryResult execute(const lang::Statement& statement, const ExecCallbacks& callbacks = {});
  // The columns execute() would return, without running the statement
  // (a SELECT is prepared, not stepped). Errors as execute()'s.
  std::vector<std::string> columns(const lang::Statement& statement);
  // Parses and runs every statement; one result per statement.
  std::vector<QueryResult> execute_script(std::string_view script, const ExecCallbacks& callbacks = {});

  SessionSettings& session() { return session_; }
  const Access& access() const { return access_; }

  QueryResult create_corpus(const lang::CreateCorpus& s);
  QueryResult add_document(const lang::AddDocument& s);
  QueryResult load_file(const lang::LoadFile& s);
  QueryResult load_directory(const lang::LoadDirectory& s);
  QueryResult remove_document(const lang::RemoveDocument& s);
  QueryResult drop_corpus(const lang::DropCorpus& s);
  QueryResult show_corpora();
  QueryResult show_documents(const lang::ShowDocuments& s);
  QueryResult show_cartridges(const lang::ShowCartridges& s);
  QueryResult show_jobs();
  QueryResult show_cache();
  QueryResult show_model();
  QueryResult show_nodes();  // the node registry (cluster/catalog_node_directory.h)
  QueryResult train(const lang::TrainCartridge& s, const ExecCallbacks& cb);
  QueryResult wait_job(int64_t job, const ExecCallbacks& cb, bool cancel_job_too = false);
  QueryResult cancel_job(const lang::CancelJob& s);
  QueryResult ask(const lang::Ask& s, const ExecCallbacks& cb);
  QueryResult explain(const lang::Explain& s);
  QueryResult pin(const lang::PinCartridge& s);
  QueryResult unpin(const lang::UnpinCartridge& s);
  QueryResult set(const lang::Set& s);
  QueryResult select(const lang::RawSelect& s, const ExecCallbacks& cb = {});
  QueryResult grant(const lang::GrantUsage& s);
  QueryResult revoke(const lang::RevokeUsage& s);

 private:
  // Runs f(SelectPassThrough&) on a reader of the Database's pool
  // (Database::select_readers), one per SELECT in flight, given back
  // however f ends.
  template <class F>
  auto with_reader(F&& f);
  QueryResult documents_added(const std::string& corpus, int64_t files, int64_t added);
  QueryResult job_result(const JobDetails& d);
  // PermissionDenied unless every corpus the question uses is usable.
  void require_usage_of(const lang::Ask& s, std::string_view statement);

  Database& db_;
  Access access_;
  ServerFiles files_;
  SessionSettings session_;
};

}  // namespace cdb
