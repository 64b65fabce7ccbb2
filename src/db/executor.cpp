#include "db/executor.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <map>
#include <mutex>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/hash.h"
#include "engine/generator.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/transformer.h"
#include "jobs/corpus_options.h"
#include "db/database.h"
#include "cluster/ask_router.h"
#include "cluster/catalog_node_directory.h"
#include "db/document_loader.h"
#include "db/node_heartbeat.h"
#include "language/parse_error.h"
#include "language/parser.h"
#include "language/printer.h"
#include "residency/residency_manager.h"
#include "jobs/train_params.h"
#include "scheduler/scheduler.h"
#include "storage/select_reader_pool.h"
#include "storage/sqlite_db.h"
#include "storage/store.h"

namespace cdb {

namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

std::string num(double v, int digits = 4) {
  if (!std::isfinite(v)) return "";
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", digits, v);
  return b;
}

std::string num(int64_t v) { return std::to_string(v); }

int64_t total_bytes(const std::vector<PendingDocument>& docs) {
  int64_t n = 0;
  for (const auto& d : docs) n += static_cast<int64_t>(d.text.size());
  return n;
}

// Runs f(); a statement SQLite cannot compile (SelectPassThrough's
// InvalidArgument) becomes a ParseError at the SELECT.
template <class F>
auto at_select(const lang::RawSelect& s, F&& f) {
  try {
    return f();
  } catch (const ParseError&) {
    throw;
  } catch (const InvalidArgument& e) {
    throw ParseError(s.span.begin, std::string("the catalog rejects this SELECT: ") + e.what(), ParseErrorKind::Sql);
  }
}

// The result columns of each statement, in one place: the statements fill
// them, and columns() describes a statement without running it.
using Columns = std::vector<std::string>;
const Columns kCreateCorpusColumns = {"corpus", "id"};
const Columns kDocumentsAddedColumns = {"corpus", "documents", "added", "version", "auto_train_job"};
const Columns kRemoveDocumentColumns = {"corpus", "document", "version", "auto_train_job"};
const Columns kShowDocumentsColumns = {"document", "bytes", "content_hash", "status", "created_at"};
const Columns kShowCartridgesColumns = {"id",     "corpus", "version",    "tokens",    "bytes",
                                        "status", "model",  "location", "final_loss", "created_at"};
const Columns kShowCacheColumns = {"tier", "bytes", "budget", "entries", "hits", "misses", "evictions"};
const Columns kShowModelColumns = {"property", "value"};
const Columns kShowNodesColumns = {"node",           "address",        "alive",         "heartbeat_age_s",
                                   "cartridges",     "resident_bytes", "budget_bytes",  "this_node",
                                   "asks_in_flight", "asks_forwarded", "asks_received", "asks_fallback"};
const Columns kJobResultColumns = {"job", "state", "corpus_version", "cartridge", "steps", "loss", "error"};
const Columns kExplainColumns = {"position", "corpus", "source",   "cartridge", "version",
                                 "tokens",   "bytes",  "location", "load_s",    "note"};
const Columns kAskColumns = {"answer", "tokens", "finish", "sources"};
const Columns kPinColumns = {"corpus", "cartridge"};
const Columns kSetColumns = {"setting", "value"};
const Columns kShowCorporaColumns = {"corpus",    "description",       "documents",  "bytes",          "version",
                                     "cartridge", "cartridge_version", "auto_train", "cartridge_tokens"};
const Columns kShowJobsColumns = {"id",   "corpus",       "state", "progress", "step",     "total_steps", "loss",      "tokens_per_s",
                                  "eta_s", "version", "cartridge", "attempts", "message", "error",       "created_at"};
const Columns kJobColumns = {"job"};
const Columns kCorpusColumns = {"corpus"};
const Columns kGrantColumns = {"corpus", "grantee"};

}  // namespace

Executor::Executor(Database& db, SessionIdentity identity)
    : db_(db), access_(db.store().catalog(), identity), files_(identity) {}

std::vector<QueryResult> Executor::execute_script(std::string_view script, const ExecCallbacks& cb) {
  std::vector<QueryResult> out;
  for (const auto& s : lang::parse_script(script)) out.push_back(execute(s, cb));
  return out;
}

QueryResult Executor::execute(const lang::Statement& st, const ExecCallbacks& cb) {
  QueryResult r = std::visit(
      Overloaded{
          [&](const lang::CreateCorpus& s) { return create_corpus(s); },
          [&](const lang::AddDocument& s) { return add_document(s); },
          [&](const lang::LoadFile& s) { return load_file(s); },
          [&](const lang::LoadDirectory& s) { return load_directory(s); },
          [&](const lang::RemoveDocument& s) { return remove_document(s); },
          [&](const lang::DropCorpus& s) { return drop_corpus(s); },
          [&](const lang::ShowCorpora&) { return show_corpora(); },
          [&](const lang::ShowDocuments& s) { return show_documents(s); },
          [&](const lang::ShowCartridges& s) { return show_cartridges(s); },
          [&](const lang::ShowJobs&) { return show_jobs(); },
          [&](const lang::ShowCache&) { return show_cache(); },
          [&](const lang::ShowModel&) { return show_model(); },
          [&](const lang::ShowNodes&) { return show_nodes(); },
          [&](const lang::TrainCartridge& s) { return train(s, cb); },
          [&](const lang::WaitJob& s) { return wait_job(s.job, cb); },
          [&](const lang::CancelJob& s) { return cancel_job(s); },
          [&](const lang::Ask& s) { return ask(s, cb); },
          [&](const lang::Explain& s) { return explain(s); },
          [&](const lang::PinCartridge& s) { return pin(s); },
          [&](const lang::UnpinCartridge& s) { return unpin(s); },
          [&](const lang::Set& s) { return set(s); },
          [&](const lang::RawSelect& s) { return select(s, cb); },
          [&](const lang::GrantUsage& s) { return grant(s); },
          [&](const lang::RevokeUsage& s) { return revoke(s); },
      },
      st);
  r.statement = std::string(lang::statement_name(st));
  return r;
}

template <class F>
auto Executor::with_reader(F&& f) {
  // A CatalogReader on a SQLite catalog, a PgCatalogReader (its own
  // PostgreSQL connection and in-memory copy) on a PostgreSQL one.
  SelectReaderPool& pool = db_.select_readers();
  // Back to the pool however f ends: a failed statement is finalized.
  struct GiveBack {
    SelectReaderPool& pool;
    std::unique_ptr<SelectPassThrough> r;
    ~GiveBack() { pool.give_back(std::move(r)); }
  } reader{pool, pool.take()};
  return f(*reader.r);
}

std::vector<std::string> Executor::columns(const lang::Statement& st) {
  return std::visit(
      Overloaded{
          [](const lang::CreateCorpus&) { return kCreateCorpusColumns; },
          [](const lang::AddDocument&) { return kDocumentsAddedColumns; },
          [](const lang::LoadFile&) { return kDocumentsAddedColumns; },
          [](const lang::LoadDirectory&) { return kDocumentsAddedColumns; },
          [](const lang::RemoveDocument&) { return kRemoveDocumentColumns; },
          [](const lang::DropCorpus&) { return kCorpusColumns; },
          [](const lang::ShowCorpora&) { return kShowCorporaColumns; },
          [](const lang::ShowDocuments&) { return kShowDocumentsColumns; },
          [](const lang::ShowCartridges&) { return kShowCartridgesColumns; },
          [](const lang::ShowJobs&) { return kShowJobsColumns; },
          [](const lang::ShowCache&) { return kShowCacheColumns; },
          [](const lang::ShowModel&) { return kShowModelColumns; },
          [](const lang::ShowNodes&) { return kShowNodesColumns; },
          [](const lang::TrainCartridge& s) { return s.wait ? kJobResultColumns : kJobColumns; },
          [](const lang::WaitJob&) { return kJobResultColumns; },
          [](const lang::CancelJob&) { return kJobColumns; },
          [](const lang::Ask&) { return kAskColumns; },
          [](const lang::Explain&) { return kExplainColumns; },
          [](const lang::PinCartridge&) { return kPinColumns; },
          [](const lang::UnpinCartridge&) { return kCorpusColumns; },
          [](const lang::Set&) { return kSetColumns; },
          [](const lang::GrantUsage&) { return kGrantColumns; },
          [](const lang::RevokeUsage&) { return kGrantColumns; },
          [&](const lang::RawSelect& s) {
            return at_select(s, [&] {
              return with_reader([&](SelectPassThrough& r) { return r.columns(s.text, access_.usable_corpora()); });
            });
          },
      },
      st);
}

// ---- corpora and documents -------------------------------------------------

QueryResult Executor::create_corpus(const lang::CreateCorpus& s) {
  const CorpusOptions o = CorpusOptions::from_statement(s.options);
  access_.check_corpus_quota();
  if (o.auto_train) access_.check_steps_quota(o.train_steps > 0 ? o.train_steps : TrainParams{}.steps, "train_steps");
  CorpusRow c = db_.store().create_corpus(s.name, o.description, o.to_json());
  // Not one transaction with the insert (the Store's lock comes first): a
  // crash between the two leaves a corpus without owner, which only
  // superusers manage, never one that anybody may manage.
  if (!access_.identity().user.empty()) db_.store().catalog().set_corpus_owner(c.id, access_.identity().user);
  QueryResult r;
  r.columns = kCreateCorpusColumns;
  r.rows = {{c.name, num(c.id)}};
  r.text = "created corpus '" + c.name + "'";
  return r;
}

QueryResult Executor::documents_added(const std::string& corpus, int64_t files, int64_t added) {
  Catalog& cat = db_.store().catalog();
  const CorpusRow c = cat.corpus(corpus);
  auto v = cat.latest_version(c.id);
  const int64_t job = added > 0 ? db_.maybe_auto_train(c.id) : 0;
  QueryResult r;
  r.columns = kDocumentsAddedColumns;
  r.rows = {{c.name, num(files), num(added), num(v ? v->version : 0), job ? num(job) : ""}};
  r.text = std::to_string(added) + " of " + std::to_string(files) + " documents added to '" + c.name + "'" +
           (v ? " (version " + std::to_string(v->version) + ")" : "") +
           (job ? "; training job " + std::to_string(job) + " queued" : "");
  return r;
}

QueryResult Executor::add_document(const lang::AddDocument& s) {
  DocumentLoader loader;
  loader.check_text(s.text, "the document");
  access_.require_owner(db_.store().catalog().corpus(s.corpus), "ADD DOCUMENT TO");  // NotFound names it
  access_.check_bytes_quota(static_cast<int64_t>(s.text.size()));
  PendingDocument d{s.name.value_or("doc-" + xxh3_128_hex(s.text).substr(0, 12)), s.text, {}};
  int64_t added = DocumentLoader::store_all(db_.store(), s.corpus, {d});
  return documents_added(s.corpus, 1, added);
}

QueryResult Executor::load_file(const lang::LoadFile& s) {
  access_.require_owner(db_.store().catalog().corpus(s.corpus), "LOAD FILE INTO");
  auto docs = DocumentLoader().read_file(files_.resolve(s.path, "LOAD FILE"));
  access_.check_bytes_quota(total_bytes(docs));
  int64_t added = DocumentLoader::store_all(db_.store(), s.corpus, docs);
  return documents_added(s.corpus, static_cast<int64_t>(docs.size()), added);
}

QueryResult Executor::load_directory(const lang::LoadDirectory& s) {
  access_.require_owner(db_.store().catalog().corpus(s.corpus), "LOAD DIRECTORY INTO");
  const DocumentLoader loader({}, [this](const std::filesystem::path& f) { return files_.admits(f); });
  auto docs = loader.read_directory(files_.resolve(s.path, "LOAD DIRECTORY"), s.pattern);
  access_.check_bytes_quota(total_bytes(docs));
  int64_t added = DocumentLoader::store_all(db_.store(), s.corpus, docs);
  return documents_added(s.corpus, static_cast<int64_t>(docs.size()), added);
}

QueryResult Executor::remove_document(const lang::RemoveDocument& s) {
  access_.require_owner(db_.store().catalog().corpus(s.corpus), "REMOVE DOCUMENT FROM");
  CorpusVersionRow v = db_.store().remove_document(s.corpus, s.name);
  const int64_t job = db_.maybe_auto_train(v.corpus_id);
  QueryResult r;
  r.columns = kRemoveDocumentColumns;
  r.rows = {{s.corpus, s.name, num(v.version), job ? num(job) : ""}};
  r.text = "removed '" + s.name + "' from '" + s.corpus + "' (version " + std::to_string(v.version) + ")";
  return r;
}

QueryResult Executor::drop_corpus(const lang::DropCorpus& s) {
  access_.require_owner(db_.store().catalog().corpus(s.name), "DROP CORPUS");
  db_.drop_corpus(s.name);
  QueryResult r;
  r.columns = kCorpusColumns;
  r.rows = {{s.name}};
  r.text = "dropped corpus '" + s.name + "'";
  return r;
}

// ---- SHOW -------------------------------------------------------------------

QueryResult Executor::show_corpora() {
  Catalog& cat = db_.store().catalog();
  AskPlanner planner = db_.planner();
  QueryResult r;
  r.columns = kShowCorporaColumns;
  const auto usable = access_.usable_corpora();
  for (const auto& c : cat.list_corpora()) {
    if (!usable(c.id)) continue;
    auto v = cat.latest_version(c.id);
    auto cart = planner.newest_cartridge(c.id);
    const CorpusOptions o = CorpusOptions::from_json(c.options, c.description);
    r.rows.push_back({c.name, c.description, num(v ? v->documents : 0), num(v ? v->bytes : 0), num(v ? v->version : 0),
                      cart ? num(cart->id) : "", cart ? num(cart->corpus_version) : "", o.auto_train ? "true" : "false",
                      num(o.cartridge_tokens)});
  }
  r.text = std::to_string(r.rows.size()) + " corpora";
  return r;
}

QueryResult Executor::show_documents(const lang::ShowDocuments& s) {
  Catalog& cat = db_.store().catalog();
  const CorpusRow c = cat.corpus(s.corpus);
  access_.require_usage(c, "SHOW DOCUMENTS");
  QueryResult r;
  r.columns = kShowDocumentsColumns;
  for (const auto& d : cat.list_documents(c.id))
    r.rows.push_back({d.name, num(d.bytes), d.content_hash, std::string(to_string(d.status)), d.created_at});
  r.text = std::to_string(r.rows.size()) + " documents in '" + c.name + "'";
  return r;
}

QueryResult Executor::show_cartridges(const lang::ShowCartridges& s) {
  Catalog& cat = db_.store().catalog();
  std::optional<int64_t> only;
  if (s.corpus) {
    const CorpusRow c = cat.corpus(*s.corpus);
    access_.require_usage(c, "SHOW CARTRIDGES FOR");
    only = c.id;
  }
  const auto usable = access_.usable_corpora();
  std::map<int64_t, std::string> names;
  for (const auto& c : cat.list_corpora()) names[c.id] = c.name;
  QueryResult r;
  r.columns = kShowCartridgesColumns;
  for (const auto& c : cat.list_cartridges(only)) {
    if (!usable(c.corpus_id)) continue;
    const bool mine = c.model_fingerprint == db_.model_fingerprint();
    auto m = nlohmann::json::parse(c.metrics, nullptr, false);
    std::string loss;
    if (m.is_object() && m.contains("final_loss") && m["final_loss"].is_number()) loss = num(m["final_loss"].get<double>());
    r.rows.push_back({num(c.id), names[c.corpus_id], num(c.corpus_version), num(c.tokens), num(c.bytes),
                      std::string(to_string(c.status)),
                      mine ? "loaded" : "other (" + c.model_fingerprint.substr(0, 8) + ")",
                      mine ? std::string(tier_name(db_.residency().where(c.id))) : "disk", loss, c.created_at});
  }
  r.text = std::to_string(r.rows.size()) + " cartridges";
  return r;
}

QueryResult Executor::show_jobs() {
  Catalog& cat = db_.store().catalog();
  std::map<int64_t, std::string> names;
  for (const auto& c : cat.list_corpora()) names[c.id] = c.name;
  QueryResult r;
  r.columns = kShowJobsColumns;
  const auto usable = access_.usable_corpora();
  for (const auto& d : db_.jobs().table().list()) {
    const JobRow& j = d.row;
    if (!access_.superuser() && !(j.corpus_id && usable(*j.corpus_id))) continue;
    r.rows.push_back({num(j.id), j.corpus_id ? names[*j.corpus_id] : "", std::string(to_string(j.state)),
                      num(j.progress, 3), num(d.step), num(d.total_steps), d.loss ? num(*d.loss) : "",
                      num(d.tokens_per_s, 1), num(d.eta_s, 1), d.corpus_version ? num(*d.corpus_version) : "",
                      d.cartridge_id ? num(*d.cartridge_id) : "", num(j.attempts), j.progress_message,
                      j.error.value_or(""), j.created_at});
  }
  r.text = std::to_string(r.rows.size()) + " jobs";
  return r;
}

QueryResult Executor::show_cache() {
  const auto st = db_.residency().stats();
  QueryResult r;
  r.columns = kShowCacheColumns;
  auto row = [&](const char* name, const ResidencyManager::TierStats& t) {
    r.rows.push_back({name, num(t.bytes), num(t.budget), num(t.entries), num(t.hits), num(t.misses), num(t.evictions)});
  };
  row("device", st.device);
  row("host", st.host);
  char b[160];
  std::snprintf(b, sizeof b, "pinned %lld bytes; %lld parts loaded from disk at %.2f GB/s",
                static_cast<long long>(st.pinned_bytes), static_cast<long long>(st.disk_loads), st.load_gbps);
  r.text = b;
  return r;
}

QueryResult Executor::show_nodes() {
  std::vector<NodeReport> nodes = db_.nodes().nodes();
  const NodeHeartbeat* self = db_.heartbeat();
  // This node's row from its residency now, not as of its last heartbeat
  // (also when the catalog refused the heartbeat and it has no row).
  if (self) {
    auto it = std::find_if(nodes.begin(), nodes.end(), [&](const NodeReport& n) { return n.name == self->name(); });
    if (it != nodes.end()) *it = self->report();
    else nodes.push_back(self->report());
  }
  // Every node is taken to heartbeat as often as this one (one setting for
  // the fleet); three missed beats and it is not alive.
  const auto now = std::chrono::system_clock::now();
  const auto limit = 3 * db_.heartbeat_interval();
  QueryResult r;
  r.columns = kShowNodesColumns;
  int alive = 0;
  for (const NodeReport& n : nodes) {
    const auto age = now - n.heartbeat;
    const bool live = age <= limit;
    alive += live;
    // Where the nodes listen is for superusers (as SHOW MODEL's paths).
    r.rows.push_back({n.name, access_.superuser() ? n.address : "", live ? "true" : "false",
                      num(std::chrono::duration<double>(age).count(), 3),
                      CatalogNodeDirectory::format_resident(n.resident), num(n.resident_bytes), num(n.budget_bytes),
                      self && n.name == self->name() ? "true" : "false", num(n.asks_in_flight),
                      num(n.asks_forwarded), num(n.asks_received), num(n.asks_fallback)});
  }
  r.text = std::to_string(nodes.size()) + " nodes, " + std::to_string(alive) + " alive";
  return r;
}

QueryResult Executor::show_model() {
  const ModelConfig& c = db_.model().config();
  QueryResult r;
  r.columns = kShowModelColumns;
  // Where the model lies on the host is for superusers; others see its name.
  auto where = [&](const std::filesystem::path& p) {
    return access_.superuser() ? p.string() : p.filename().string();
  };
  r.rows = {{"path", where(db_.model_path())},
            {"tokenizer", where(db_.tokenizer_path())},
            {"fingerprint", db_.model_fingerprint()},
            {"arch", arch_name(c.arch)},
            {"dim", num(c.dim)},
            {"layers", num(c.n_layers)},
            {"heads", num(c.n_heads)},
            {"kv_heads", num(c.n_kv_heads)},
            {"vocab", num(c.vocab_size)},
            {"context", num(c.max_seq_len)},
            {"chat_format", chat_format_name(db_.chat_format())},
            {"device", db_.model().device().str()}};
  r.text = db_.model_path().filename().string() + " (" + db_.model_fingerprint() + ")";
  return r;
}

// ---- jobs -------------------------------------------------------------------

QueryResult Executor::job_result(const JobDetails& d) {
  const JobRow& j = d.row;
  QueryResult r;
  r.columns = kJobResultColumns;
  r.rows = {{num(j.id), std::string(to_string(j.state)), d.corpus_version ? num(*d.corpus_version) : "",
             d.cartridge_id ? num(*d.cartridge_id) : "", num(d.step), d.loss ? num(*d.loss) : "",
             j.error.value_or("")}};
  r.text = "job " + std::to_string(j.id) + " " + std::string(to_string(j.state));
  if (d.cartridge_id) r.text += ": Cartridge " + std::to_string(*d.cartridge_id);
  return r;
}

QueryResult Executor::train(const lang::TrainCartridge& s, const ExecCallbacks& cb) {
  const TrainParams p = TrainParams::from_statement(s.options);
  Catalog& cat = db_.store().catalog();
  const CorpusRow c = cat.corpus(s.corpus);
  access_.require_owner(c, "TRAIN CARTRIDGE FOR");
  if (cat.list_documents(c.id).empty())
    throw InvalidArgument("corpus '" + c.name + "' has no documents to train on; ADD DOCUMENT or LOAD FILE first");
  bool reused = false;
  // The quota counts new work: a TRAIN that joins an equal queued job is
  // never refused by it.
  JobRow job = db_.jobs().table().create_or_reuse(c.id, p.to_json(), &reused,
                                                  [&] { access_.check_train_quota(p.steps); });
  db_.jobs().notify();
  // TRAIN ... WAIT stops the job when interrupted only if it queued it: a
  // reused job is also another TRAIN's.
  if (s.wait) return wait_job(job.id, cb, /*cancel_job_too=*/!reused);
  QueryResult r;
  r.columns = kJobColumns;
  r.rows = {{num(job.id)}};
  r.text = "training job " + std::to_string(job.id) +
           (reused ? " (already queued, or running on the latest version, with the same parameters) for '"
                   : " queued for '") +
           c.name + "'; WAIT JOB " + std::to_string(job.id) + " blocks until it is done";
  return r;
}

QueryResult Executor::wait_job(int64_t job, const ExecCallbacks& cb, bool cancel_job_too) {
  if (auto row = db_.store().catalog().job(job)) access_.require_job_usage(*row, "WAIT JOB");
  JobDetails d;
  try {
    d = db_.jobs().wait(job, cb.on_progress, cb.is_cancelled);
  } catch (const Cancelled&) {
    if (!cancel_job_too) throw;
    // TRAIN ... WAIT owns the job it queued: interrupting it stops the job.
    db_.jobs().cancel(job);
    throw Cancelled("TRAIN was cancelled; job " + std::to_string(job) + " stops after its current step");
  }
  if (cb.on_progress) {
    JobProgress p;
    p.job = d.row.id;
    p.state = d.row.state;
    p.fraction = d.row.progress;
    p.step = d.step;
    p.total_steps = d.total_steps;
    if (d.loss) p.loss = *d.loss;
    p.message = to_string(d.row.state);
    cb.on_progress(p);
  }
  if (d.row.state == JobState::Failed)
    throw JobFailed("job " + std::to_string(job) + " failed: " + d.row.error.value_or("unknown error"));
  if (d.row.state == JobState::Cancelled)
    throw Cancelled("job " + std::to_string(job) + " was cancelled: " + d.row.error.value_or(""));
  return job_result(d);
}

QueryResult Executor::cancel_job(const lang::CancelJob& s) {
  if (auto row = db_.store().catalog().job(s.job)) access_.require_job_owner(*row, "CANCEL JOB");
  db_.jobs().cancel(s.job);
  QueryResult r;
  r.columns = kJobColumns;
  r.rows = {{num(s.job)}};
  r.text = "job " + std::to_string(s.job) + " cancelled (a running job stops after its current step)";
  return r;
}

// ---- questions --------------------------------------------------------------

QueryResult Executor::explain(const lang::Explain& s) {
  require_usage_of(s.ask, "EXPLAIN ASK");
  const AskSettings settings = session_.for_ask(s.ask.options);
  const AskPlan plan = db_.planner().plan(s.ask.question, s.ask.corpora, settings);
  QueryResult r;
  r.columns = kExplainColumns;
  for (const auto& p : plan.parts) {
    const bool cart = p.source == CorpusSource::Cartridge;
    r.rows.push_back({num(p.position), p.corpus.name, cart ? "cartridge" : "icl", cart ? num(p.cartridge->id) : "",
                      cart ? num(p.cartridge->corpus_version) : num(p.latest_version), num(p.tokens), num(p.bytes),
                      p.location, cart ? num(p.expected_load_s, 6) : "", p.note});
  }
  const int64_t q_tokens = plan.prefix_tokens + static_cast<int64_t>(plan.prompt.size()) - plan.question_position;
  r.rows.push_back({num(plan.question_position), "", "question", "", "", num(q_tokens), num(static_cast<int64_t>(plan.question.size())),
                    "prompt", "", "answer up to " + std::to_string(plan.max_tokens) + " tokens; window " +
                                       std::to_string(plan.window)});
  std::string order;
  for (const auto& p : plan.parts) order += (order.empty() ? "" : " + ") + p.corpus.name;
  r.text = "mode " + std::string(ask_mode_name(settings.mode)) + ": " + order + " + question at position " +
           std::to_string(plan.question_position);
  return r;
}

namespace {

// The ASK a peer runs for this session: the question and corpora as asked,
// with every setting the session would have applied written out, so that
// the peer's answer is the one this node would give (greedy decoding is
// deterministic; a sampled answer draws from the same distribution).
std::string relayed_ask(const lang::Ask& s, const AskSettings& a) {
  lang::Ask out;
  out.question = s.question;
  out.corpora = s.corpora;
  auto add = [&](const char* key, lang::Value v) { out.options.add(lang::Option{key, std::move(v), {}, {}}); };
  add("max_tokens", a.max_tokens);
  add("temperature", a.temperature);
  add("top_p", a.top_p);
  add("top_k", a.top_k);
  add("seed", a.seed);
  add("mode", std::string(ask_mode_name(a.mode)));
  return lang::to_string(lang::Statement(out));
}

}  // namespace

QueryResult Executor::ask(const lang::Ask& s, const ExecCallbacks& cb) {
  require_usage_of(s, "ASK");
  const AskSettings settings = session_.for_ask(s.options);
  const SessionIdentity& me = access_.identity();
  if (me.forwarded) {
    db_.route_counters().received();
  } else if (AskRouter* router = db_.router(); router && !me.user.empty()) {
    // Checked here first (above), and again by the peer as this user.
    if (const auto peer = router->choose(s.corpora)) {
      if (auto a = router->relay(*peer, me.user, relayed_ask(s, settings), cb.is_cancelled)) {
        if (a->columns != kAskColumns || a->rows.size() != 1 || a->rows[0].size() != kAskColumns.size())
          throw Error("peer node '" + peer->name + "' answered an ASK with an unexpected table");
        QueryResult r;
        r.columns = kAskColumns;
        r.types = {"text", "int8", "text", "text"};
        r.text = a->rows[0][0];
        r.rows = std::move(a->rows);
        // The peer's answer arrives whole: a streaming client gets it as one piece.
        if (cb.on_token && !r.text.empty()) cb.on_token(r.text);
        return r;
      }
      // The peer could not answer (counted, logged): answered here.
    }
  }
  const RouteCounters::InFlight busy(db_.route_counters());
  const AskPlan plan = db_.planner().plan(s.question, s.corpora, settings);
  // The composed Cartridge is held for the whole answer: a new version
  // committed meanwhile does not change what this question reads.
  CartridgeRef prefix;
  if (!plan.cartridges.empty()) prefix = db_.residency().acquire(plan.cartridges);
  ServeRequest req;
  req.prompt = plan.prompt;
  // Aliasing: the request holds the resident Cartridge (so it stays loaded
  // and unevicted) and reads its tensors. Questions on the same Cartridge
  // set share this object, hence its KV, in the batch.
  if (prefix) req.prefix = std::shared_ptr<const Cartridge>(prefix, &prefix->cartridge());
  req.sampling.temperature = static_cast<float>(settings.temperature);
  req.sampling.top_p = static_cast<float>(settings.top_p);
  req.sampling.top_k = settings.top_k;
  req.sampling.seed = static_cast<uint64_t>(settings.seed);
  req.max_tokens = plan.max_tokens;
  if (db_.chat_format() != ChatFormat::Plain) {
    req.stop_tokens = chat_stop_ids(db_.chat_format(), db_.tokenizer());
  } else if (db_.tokenizer().bos_id() >= 0) {
    req.stop_tokens.push_back(db_.tokenizer().bos_id());  // a base model starting a new document is done
  }
  // Runs on the scheduler's thread; this thread only reads `text` after
  // wait() returns.
  std::string text;
  int32_t prev = plan.prompt.back();
  // Between tokens too, not only every 50 ms below: a client that hung up
  // leaves the batch at the next step (its slot free for the next question).
  std::atomic<ServeTicket*> live{nullptr};
  req.on_token = [&](int32_t id) {
    const std::string piece = db_.tokenizer().token_bytes(id, prev);
    prev = id;
    text += piece;
    if (cb.on_token && !piece.empty()) cb.on_token(piece);
    if (cb.is_cancelled && cb.is_cancelled())
      if (ServeTicket* t = live.load()) t->cancel();
  };
  auto ticket = db_.scheduler().submit(std::move(req));
  live = ticket.get();
  while (!ticket->wait_for(std::chrono::milliseconds(50)))
    if (cb.is_cancelled && cb.is_cancelled()) ticket->cancel();
  ServeResult gen;
  try {
    gen = ticket->wait();
  } catch (const Cancelled&) {
    throw Cancelled("ASK was cancelled after " + std::to_string(text.size()) + " bytes of answer");
  }
  std::string sources;
  for (const auto& p : plan.parts) {
    sources += (sources.empty() ? "" : ", ") + p.corpus.name + ": ";
    sources += p.source == CorpusSource::Cartridge ? "cartridge " + std::to_string(p.cartridge->id) + " (v" +
                                                         std::to_string(p.cartridge->corpus_version) + ")"
                                                   : std::string("icl");
  }
  QueryResult r;
  r.columns = kAskColumns;
  r.types = {"text", "int8", "text", "text"};
  r.rows = {{text, num(static_cast<int64_t>(gen.tokens.size())), finish_reason_name(gen.finish), sources}};
  r.text = text;
  return r;
}

// ---- cache, settings, SQL ---------------------------------------------------

QueryResult Executor::pin(const lang::PinCartridge& s) {
  const CorpusRow c = db_.store().catalog().corpus(s.corpus);
  access_.require_owner(c, "PIN CARTRIDGE FOR");
  const int64_t id = db_.pin(c.id);
  QueryResult r;
  r.columns = kPinColumns;
  r.rows = {{c.name, id ? num(id) : ""}};
  r.text = id ? "pinned Cartridge " + std::to_string(id) + " of '" + c.name + "'"
              : "'" + c.name + "' is pinned; it has no Cartridge yet, its first one will be kept loaded";
  return r;
}

QueryResult Executor::unpin(const lang::UnpinCartridge& s) {
  const CorpusRow c = db_.store().catalog().corpus(s.corpus);
  access_.require_owner(c, "UNPIN CARTRIDGE FOR");
  db_.unpin(c.id);
  QueryResult r;
  r.columns = kCorpusColumns;
  r.rows = {{c.name}};
  r.text = "unpinned '" + c.name + "'";
  return r;
}

QueryResult Executor::set(const lang::Set& s) {
  session_.set(s.setting);
  QueryResult r;
  r.columns = kSetColumns;
  for (const auto& [k, v] : session_.list())
    if (k == s.setting.key) r.rows.push_back({k, v});
  r.text = "set " + s.setting.key;
  return r;
}

QueryResult Executor::grant(const lang::GrantUsage& s) {
  Catalog& cat = db_.store().catalog();
  const CorpusRow c = cat.corpus(s.corpus);
  access_.require_owner(c, "GRANT USAGE ON CORPUS");
  cat.grant_usage(c.id, s.grantee);
  QueryResult r;
  r.columns = kGrantColumns;
  r.rows = {{c.name, s.grantee}};
  r.text = "granted USAGE on corpus '" + c.name + "' to " + (s.grantee == lang::kPublic ? "PUBLIC" : s.grantee);
  return r;
}

QueryResult Executor::revoke(const lang::RevokeUsage& s) {
  Catalog& cat = db_.store().catalog();
  const CorpusRow c = cat.corpus(s.corpus);
  access_.require_owner(c, "REVOKE USAGE ON CORPUS");
  const bool had = cat.revoke_usage(c.id, s.grantee);
  QueryResult r;
  r.columns = kGrantColumns;
  r.rows = {{c.name, s.grantee}};
  const std::string who = s.grantee == lang::kPublic ? "PUBLIC" : s.grantee;
  r.text = had ? "revoked USAGE on corpus '" + c.name + "' from " + who
               : who + " had no USAGE grant on corpus '" + c.name + "'; nothing changed";
  return r;
}

void Executor::require_usage_of(const lang::Ask& s, std::string_view statement) {
  Catalog& cat = db_.store().catalog();
  for (const auto& name : s.corpora)
    if (auto c = cat.find_corpus(name)) access_.require_usage(*c, statement);  // a missing one: the planner's NotFound
}

// The SELECT runs on the session's own read-only connection, not under the
// catalog's mutex: a slow one holds up nothing but itself, and is_cancelled
// (cancel, statement timeout, shutdown) reaches it between VM instructions.
QueryResult Executor::select(const lang::RawSelect& s, const ExecCallbacks& cb) {
  SelectResult res = at_select(
      s, [&] { return with_reader([&](SelectPassThrough& r) { return r.run(s.text, access_.usable_corpora(), cb.is_cancelled); }); });
  QueryResult r;
  r.columns = std::move(res.columns);
  r.types = std::move(res.types);
  r.rows = std::move(res.rows);
  r.text = std::to_string(r.rows.size()) + " rows";
  return r;
}

}  // namespace cdb
