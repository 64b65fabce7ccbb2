// The public API (include/cartridgedb/cartridgedb.h) over cdb::Database and
// cdb::Executor: opens, executes, and turns cdb's errors into the public
// ones at this one boundary.
#include "cartridgedb/cartridgedb.h"

#include <algorithm>
#include <exception>
#include <mutex>

#include "cluster/ask_router.h"
#include "cluster/node_login.h"
#include "common/error.h"
#include "db/database.h"
#include "db/executor.h"
#include "residency/residency_manager.h"
#include "scheduler/scheduler.h"
#include "language/parse_error.h"
#include "language/parser.h"

namespace cartridgedb {

namespace {

// The one place a cdb error becomes a public one: a switch on its kind
// without a default, so that the compiler (-Wswitch) names a kind added to
// common/error.h and not mapped here, instead of it surfacing as Internal.
[[noreturn]] void throw_public(const cdb::Error& e) {
  const std::string m = e.what();
  switch (e.kind()) {
    case cdb::ErrorKind::InvalidArgument: throw InvalidArgument(m);
    case cdb::ErrorKind::NotFound: throw NotFound(m);
    case cdb::ErrorKind::CorruptData: throw CorruptData(m);
    case cdb::ErrorKind::Unsupported: throw Unsupported(m);
    case cdb::ErrorKind::IoError: throw IoError(m);
    case cdb::ErrorKind::ResourceExhausted: throw ResourceExhausted(m);
    case cdb::ErrorKind::Cancelled: throw Cancelled(m);
    case cdb::ErrorKind::PermissionDenied: throw PermissionDenied(m);
    case cdb::ErrorKind::LimitExceeded: throw LimitExceeded(m);
    case cdb::ErrorKind::QuotaExceeded: throw QuotaExceeded(m);
    case cdb::ErrorKind::JobFailed: throw JobFailed(m);
    case cdb::ErrorKind::UndefinedObject: throw UndefinedObject(m);
    case cdb::ErrorKind::Internal: break;
  }
  throw Error(ErrorKind::Internal, m);
}

// Rethrows the exception being handled as a public error. A ParseError
// keeps its position, with the excerpt drawn from `source`.
[[noreturn]] void rethrow_public(std::string_view source) {
  try {
    throw;
  } catch (const Error&) {
    throw;
  } catch (const cdb::ParseError& e) {
    throw ParseError(e.what(), e.line(), e.column(), e.offset(), cdb::lang::caret_excerpt(source, e.offset()),
                     e.cause() == cdb::ParseErrorKind::Option ? ParseError::Cause::Option : ParseError::Cause::Syntax);
  } catch (const cdb::Error& e) {
    throw_public(e);
  } catch (const std::exception& e) {
    throw Error(ErrorKind::Internal, e.what());
  }
}

Result to_public(cdb::QueryResult&& r) {
  Result out;
  out.statement = std::move(r.statement);
  out.columns = std::move(r.columns);
  out.column_types = std::move(r.types);
  out.rows = std::move(r.rows);
  out.text = std::move(r.text);
  return out;
}

cdb::ExecCallbacks to_internal(const Callbacks& cb) {
  cdb::ExecCallbacks out;
  out.on_token = cb.on_token;
  out.is_cancelled = cb.is_cancelled;
  if (cb.on_progress)
    out.on_progress = [f = cb.on_progress](const cdb::JobProgress& p) {
      Progress q;
      q.job = p.job;
      q.state = to_string(p.state);  // the public API speaks the catalog's words
      q.phase = p.phase;
      q.fraction = p.fraction;
      q.step = p.step;
      q.total_steps = p.total_steps;
      q.loss = p.loss;
      q.tokens_per_s = p.tokens_per_s;
      q.eta_s = p.eta_s;
      q.checkpointed = p.checkpointed;
      q.message = p.message;
      f(q);
    };
  return out;
}

// The public defaults are what the server gives users whose entry sets no
// quota; the planner's are the same numbers, for its own callers.
static_assert(Quotas{}.queued_jobs == cdb::Quotas{}.queued_jobs &&
                  Quotas{}.steps_per_job == cdb::Quotas{}.steps_per_job && Quotas{}.corpora == cdb::Quotas{}.corpora &&
                  Quotas{}.bytes_stored == cdb::Quotas{}.bytes_stored,
              "cartridgedb::Quotas and cdb::Quotas must have the same defaults");

cdb::SessionIdentity to_internal(const SessionIdentity& id) {
  cdb::SessionIdentity out;
  out.user = id.user;
  out.superuser = id.superuser;
  out.quotas = {id.quotas.queued_jobs, id.quotas.steps_per_job, id.quotas.corpora, id.quotas.bytes_stored};
  out.confine_server_files = id.confine_server_files;
  out.load_root = id.load_root;
  out.forwarded = id.forwarded;
  return out;
}

}  // namespace

const std::string& Result::at(size_t row, std::string_view column) const {
  for (size_t c = 0; c < columns.size(); ++c)
    if (columns[c] == column) {
      if (row >= rows.size()) throw NotFound(statement + ": no row " + std::to_string(row));
      return rows[row][c];
    }
  throw NotFound(statement + ": no column '" + std::string(column) + "'");
}

struct Session::Impl {
  explicit Impl(cdb::Database& db, cdb::SessionIdentity identity = {}) : exec(db, std::move(identity)) {}
  cdb::Executor exec;  // holds the session's SET values
};

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::~Session() = default;

Result Session::execute(std::string_view statement, const Callbacks& callbacks) {
  try {
    cdb::lang::Statement s = cdb::lang::parse_statement(statement);
    return to_public(impl_->exec.execute(s, to_internal(callbacks)));
  } catch (...) {
    rethrow_public(statement);
  }
}

std::vector<Result> Session::execute_script(std::string_view script, const Callbacks& callbacks) {
  try {
    std::vector<Result> out;
    for (const auto& s : cdb::lang::parse_script(script)) {
      out.push_back(to_public(impl_->exec.execute(s, to_internal(callbacks))));
      if (callbacks.on_result) callbacks.on_result(out.back());
    }
    return out;
  } catch (...) {
    rethrow_public(script);
  }
}

std::vector<std::string> Session::columns(std::string_view statement) {
  try {
    return impl_->exec.columns(cdb::lang::parse_statement(statement));
  } catch (...) {
    rethrow_public(statement);
  }
}

struct Database::Impl {
  std::string dir;
  std::unique_ptr<cdb::Database> db;
  std::unique_ptr<Session> session;  // the handle's own, for execute()
};

Database::Database(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Database::~Database() = default;

std::unique_ptr<Database> Database::open(const std::string& dir, const OpenOptions& options) {
  try {
    auto impl = std::make_unique<Impl>();
    impl->dir = dir;
    cdb::DatabaseOptions o;
    o.model_path = options.model_path;
    o.tokenizer_path = options.tokenizer_path;
    o.device = options.device;
    o.memory_budget_bytes = options.memory_budget_bytes;
    o.kv_budget_bytes = options.kv_budget_bytes;
    o.workers = options.worker_threads;
    o.start_workers = options.start_workers;
    o.create_if_missing = options.create_if_missing;
    o.catalog = options.catalog;
    if (options.catalog_retries >= 0) o.catalog_retry.retries = options.catalog_retries;
    if (options.catalog_retry_wait_ms >= 0) {
      o.catalog_retry.wait_ms = options.catalog_retry_wait_ms;
      o.catalog_retry.max_wait_ms = std::max(o.catalog_retry.max_wait_ms, o.catalog_retry.wait_ms);
    }
    o.node_name = options.node_name;
    if (options.job_lease_ms > 0) o.job_lease_ms = options.job_lease_ms;
    o.job_renew_ms = options.job_renew_ms;
    o.heartbeat_interval_ms = options.heartbeat_interval_ms;
    if (!options.blobs_url.empty()) {
      o.s3_blobs.url = options.blobs_url;
      o.s3_blobs.s3.endpoint = options.s3_endpoint;
      o.s3_blobs.s3.region = options.s3_region;
      o.s3_blobs.s3.credentials = cdb::S3Credentials::from_env();
      if (options.cache_bytes > 0) o.s3_blobs.cache_bytes = static_cast<size_t>(options.cache_bytes);
      if (options.s3_connect_timeout_ms > 0) o.s3_blobs.s3.connect_timeout_ms = options.s3_connect_timeout_ms;
      if (options.s3_request_timeout_ms > 0) o.s3_blobs.s3.request_timeout_ms = options.s3_request_timeout_ms;
      if (options.s3_retries >= 0) o.s3_blobs.s3.retries = options.s3_retries;
    }
    impl->db = std::make_unique<cdb::Database>(dir, o);
    impl->session.reset(new Session(std::make_unique<Session::Impl>(*impl->db)));
    return std::unique_ptr<Database>(new Database(std::move(impl)));
  } catch (...) {
    rethrow_public(dir);
  }
}

Result Database::execute(std::string_view statement, const Callbacks& callbacks) {
  return impl_->session->execute(statement, callbacks);
}

std::vector<Result> Database::execute_script(std::string_view script, const Callbacks& callbacks) {
  return impl_->session->execute_script(script, callbacks);
}

std::unique_ptr<Session> Database::new_session() {
  return std::unique_ptr<Session>(new Session(std::make_unique<Session::Impl>(*impl_->db)));
}

std::unique_ptr<Session> Database::new_session(const SessionIdentity& identity) {
  try {
    return std::unique_ptr<Session>(new Session(std::make_unique<Session::Impl>(*impl_->db, to_internal(identity))));
  } catch (...) {
    rethrow_public(identity.user);
  }
}

void Database::join_fleet(const std::string& address) {
  try {
    impl_->db->join_fleet(address);
  } catch (...) {
    rethrow_public(address);
  }
}

void Database::enable_routing(const RouteOptions& options) {
  try {
    cdb::AskRouterOptions o;
    o.password = cdb::node_password(options.cluster_secret);
    o.connect_timeout = std::chrono::milliseconds(options.connect_timeout_ms);
    o.relay_timeout = std::chrono::milliseconds(options.relay_timeout_ms);
    o.load_factor = options.load_factor;
    impl_->db->enable_routing(std::move(o));
  } catch (...) {
    rethrow_public(impl_->dir);
  }
}

const char* node_principal() { return cdb::kNodePrincipal; }

std::string node_password(std::string_view cluster_secret) {
  try {
    return cdb::node_password(cluster_secret);
  } catch (...) {
    rethrow_public("the cluster secret");
  }
}

std::optional<std::string> node_login_user(std::string_view startup_options) {
  try {
    return cdb::parse_act_as(startup_options);
  } catch (...) {
    rethrow_public("the startup options");
  }
}

const std::string& Database::dir() const { return impl_->dir; }
std::string Database::model_fingerprint() const { return impl_->db->model_fingerprint(); }

EngineStats Database::engine_stats() const {
  const auto b = impl_->db->scheduler().stats();
  const auto r = impl_->db->residency().stats();
  EngineStats s;
  s.batch_slots = b.slots;
  s.slot_tokens = b.slot_tokens;
  s.running = b.running;
  s.queued = b.queued;
  s.largest_batch = b.largest_batch;
  s.decode_steps = b.steps;
  s.decoded_tokens = b.decoded_tokens;
  s.prefilled_tokens = b.prefilled_tokens;
  auto tier = [](const auto& t) {
    return EngineStats::Tier{t.bytes, t.budget, t.entries, t.hits, t.misses, t.evictions};
  };
  s.device = tier(r.device);
  s.host = tier(r.host);
  s.disk_loads = r.disk_loads;
  s.load_gbps = r.load_gbps;
  s.pinned_bytes = r.pinned_bytes;
  const cdb::RouteCounters& c = impl_->db->route_counters();
  s.asks_in_flight = c.in_flight();
  s.asks_forwarded = c.forwarded_count();
  s.asks_received = c.received_count();
  s.asks_fallback = c.fallback_count();
  return s;
}

const char* version() { return "0.1.0"; }

}  // namespace cartridgedb
