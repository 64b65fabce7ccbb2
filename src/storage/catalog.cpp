#include "storage/catalog.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/hash.h"
#include "storage/sqlite_db.h"

namespace cdb {

namespace {

constexpr Migration kMigrations[] = {
#include "storage/migrations_data.inc"
};

std::string shape_json(const std::vector<int64_t>& shape) { return nlohmann::json(shape).dump(); }
std::vector<int64_t> parse_shape(const std::string& s) {
  try {
    return nlohmann::json::parse(s).get<std::vector<int64_t>>();
  } catch (const std::exception& e) {
    throw CorruptData("catalog: bad tensor shape '" + s + "': " + e.what());
  }
}

void check_json(std::string_view text, std::string_view what) {
  if (!nlohmann::json::accept(text)) throw InvalidArgument(std::string(what) + " is not valid JSON: " + std::string(text));
}

constexpr const char* kDocCols = "id, corpus_id, name, content_hash, bytes, blob_key, status, created_at";
DocumentRow read_document(const Statement& s) {
  return {s.int64(0), s.int64(1), s.text(2), s.text(3), s.int64(4), s.text(5), row_status_from_string(s.text(6)),
          s.text(7)};
}

constexpr const char* kCorpusCols = "id, name, description, options, created_at";
CorpusRow read_corpus(const Statement& s) { return {s.int64(0), s.text(1), s.text(2), s.text(3), s.text(4)}; }

constexpr const char* kVersionCols = "corpus_id, version, docs_hash, documents, bytes, created_at";
CorpusVersionRow read_version(const Statement& s) {
  return {s.int64(0), s.int64(1), s.text(2), s.int64(3), s.int64(4), s.text(5)};
}

constexpr const char* kArtifactCols =
    "id, scope, name, blob_key, dtype, shape, meta, bytes, status, created_at";
ArtifactRow read_artifact(const Statement& s) {
  return {s.int64(0), s.text(1), s.text(2), s.text(3), s.text(4), s.text(5), s.text(6), s.int64(7),
          row_status_from_string(s.text(8)), s.text(9)};
}

constexpr const char* kTokCols =
    "id, corpus_id, corpus_version, tokenizer_fingerprint, tokens, blob_key, bytes, status, created_at";

}  // namespace

std::span<const Migration> builtin_migrations() { return kMigrations; }

Catalog::Catalog(const std::filesystem::path& file, bool read_only)
    : Catalog(file, builtin_migrations(), read_only) {}

Catalog::Catalog(const std::filesystem::path& file, std::span<const Migration> migrations, bool read_only)
    : Catalog(std::make_unique<SqliteDb>(file, read_only), migrations, read_only) {}

Catalog::Catalog(std::unique_ptr<SqlConnection> connection, std::span<const Migration> migrations, bool read_only)
    : db_(std::move(connection)), read_only_(read_only) {
  if (db_->dialect() == SqlDialect::Sqlite) {
    if (!read_only) {
      // WAL: readers never block the writer. synchronous=FULL: a committed
      // row survives power loss, which the blob/row protocol relies on.
      db_->exec("PRAGMA journal_mode=WAL");
      db_->exec("PRAGMA synchronous=FULL");
    }
    db_->exec("PRAGMA foreign_keys=ON");
  } else if (read_only) {
    db_->exec("SET default_transaction_read_only = on");
  }
  if (!read_only) migrate(migrations);
  int known = migrations.empty() ? 0 : migrations.back().version;
  int have = schema_version();
  if (have > known)
    throw Unsupported("catalog " + db_->describe() + " is at schema version " + std::to_string(have) +
                      ", newer than this build knows (" + std::to_string(known) + "); upgrade cartridgedb");
}

std::optional<std::filesystem::path> Catalog::sqlite_file() const {
  if (const auto* s = dynamic_cast<const SqliteDb*>(db_.get())) return s->file();
  return std::nullopt;
}

void Catalog::migrate(std::span<const Migration> migrations) {
  std::lock_guard lock(mu_);
  const bool pg = db_->dialect() == SqlDialect::PostgreSql;
  // Servers sharing one PostgreSQL catalog may start together: one at a
  // time migrates, the others then find the versions applied. (SQLite's
  // BEGIN IMMEDIATE and the store's directory lock do this for a file.)
  // The key is arbitrary and fixed; no other code takes it.
  struct MigrationLock {
    const SqlConnection* db;
    ~MigrationLock() {
      if (!db) return;
      try {
        db->exec("SELECT pg_advisory_unlock(27413438196167282)");
      } catch (...) {
        // The session ends with the connection, and its lock with it.
      }
    }
  } migration_lock{pg ? db_.get() : nullptr};
  if (pg) db_->exec("SELECT pg_advisory_lock(27413438196167282)");
  db_->exec(std::string("CREATE TABLE IF NOT EXISTS schema_migrations ("
                        " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                        " applied_at TEXT NOT NULL DEFAULT (") +
            db_->now_sql() + "))");
  int prev = 0;
  for (const Migration& m : migrations) {
    if (m.version <= prev) throw InvalidArgument("migrations out of order at version " + std::to_string(m.version));
    prev = m.version;
    Transaction tx(*this);
    Statement q(*db_, "SELECT name FROM schema_migrations WHERE version = ?");
    if (q.bind_all(m.version).step()) {
      if (q.text(0) != m.name)
        throw CorruptData("catalog " + db_->describe() + ": migration " + std::to_string(m.version) +
                          " was recorded as '" + q.text(0) + "' but this build calls it '" + std::string(m.name) + "'");
      continue;  // already applied; tx rolls back (nothing done)
    }
    db_->exec(m.sql_for(db_->dialect()));
    Statement ins(*db_, "INSERT INTO schema_migrations (version, name) VALUES (?, ?)");
    ins.bind_all(m.version, m.name).run();
    tx.commit();
  }
}

int Catalog::schema_version() const {
  std::lock_guard lock(mu_);
  if (!db_->has_table("schema_migrations")) return 0;
  Statement s(*db_, "SELECT coalesce(max(version), 0) FROM schema_migrations");
  s.step();
  return static_cast<int>(s.int64(0));
}

std::vector<std::pair<int, std::string>> Catalog::applied_migrations() const {
  std::lock_guard lock(mu_);
  std::vector<std::pair<int, std::string>> out;
  Statement s(*db_, "SELECT version, name FROM schema_migrations ORDER BY version");
  while (s.step()) out.emplace_back(static_cast<int>(s.int64(0)), s.text(1));
  return out;
}

Catalog::Transaction::Transaction(Catalog& c) : c_(c), lock_(c.mu_) {
  if (c_.read_only_) throw InvalidArgument("catalog " + c_.db_->describe() + " is open read-only");
  c_.db_->begin_write();
}

Catalog::Transaction::~Transaction() {
  if (!done_) {
    try {
      c_.db_->exec("ROLLBACK");
    } catch (...) {
      // The transaction is already gone (SQLite rolls back on some errors).
    }
  }
}

void Catalog::Transaction::commit() {
  c_.db_->exec("COMMIT");
  done_ = true;
}

// ---- corpora ---------------------------------------------------------------

CorpusRow Catalog::create_corpus(std::string_view name, std::string_view description, std::string_view options) {
  check_json(options, "corpus options");
  std::lock_guard lock(mu_);
  if (find_corpus(name)) throw InvalidArgument("corpus '" + std::string(name) + "' already exists");
  Statement s(*db_, "INSERT INTO corpora (name, description, options) VALUES (?, ?, ?)");
  s.bind_all(name, description, options).run();
  return *find_corpus(name);
}

std::optional<CorpusRow> Catalog::find_corpus(std::string_view name) const {
  std::lock_guard lock(mu_);
  Statement s(*db_, std::string("SELECT ") + kCorpusCols + " FROM corpora WHERE name = ?");
  if (!s.bind_all(name).step()) return std::nullopt;
  return read_corpus(s);
}

CorpusRow Catalog::corpus(std::string_view name) const {
  auto c = find_corpus(name);
  // Not the catalog's file: its path on the host is no client's business.
  if (!c) throw NotFound("no corpus named '" + std::string(name) + "'; SHOW CORPORA lists them");
  return *c;
}

std::optional<CorpusRow> Catalog::find_corpus(int64_t id) const {
  std::lock_guard lock(mu_);
  Statement s(*db_, std::string("SELECT ") + kCorpusCols + " FROM corpora WHERE id = ?");
  if (!s.bind_all(id).step()) return std::nullopt;
  return read_corpus(s);
}

CorpusRow Catalog::corpus(int64_t id) const {
  auto c = find_corpus(id);
  if (!c) throw NotFound("no corpus with id " + std::to_string(id) + " (was it dropped?); SHOW CORPORA lists them");
  return *c;
}

std::vector<CorpusRow> Catalog::list_corpora() const {
  std::lock_guard lock(mu_);
  std::vector<CorpusRow> out;
  Statement s(*db_, std::string("SELECT ") + kCorpusCols + " FROM corpora ORDER BY name");
  while (s.step()) out.push_back(read_corpus(s));
  return out;
}

// ---- documents -------------------------------------------------------------

std::optional<DocumentRow> Catalog::find_document(int64_t corpus_id, std::string_view name) const {
  std::lock_guard lock(mu_);
  Statement s(*db_, std::string("SELECT ") + kDocCols + " FROM documents WHERE corpus_id = ? AND name = ?");
  if (!s.bind_all(corpus_id, name).step()) return std::nullopt;
  return read_document(s);
}

std::optional<DocumentRow> Catalog::find_document_by_hash(int64_t corpus_id, std::string_view hash) const {
  std::lock_guard lock(mu_);
  Statement s(*db_, std::string("SELECT ") + kDocCols + " FROM documents WHERE corpus_id = ? AND content_hash = ?");
  if (!s.bind_all(corpus_id, hash).step()) return std::nullopt;
  return read_document(s);
}

DocumentRow Catalog::insert_document(const DocumentRow& r) {
  std::lock_guard lock(mu_);
  Statement s(*db_,
              "INSERT INTO documents (corpus_id, name, content_hash, bytes, blob_key, status) "
              "VALUES (?, ?, ?, ?, ?, ?)");
  s.bind_all(r.corpus_id, r.name, r.content_hash, r.bytes, r.blob_key, to_string(r.status)).run();
  return *find_document(r.corpus_id, r.name);
}

void Catalog::delete_document(int64_t id) {
  std::lock_guard lock(mu_);
  Statement(*db_, "DELETE FROM documents WHERE id = ?").bind_all(id).run();
}

std::vector<DocumentRow> Catalog::list_documents(int64_t corpus_id) const {
  std::lock_guard lock(mu_);
  std::vector<DocumentRow> out;
  Statement s(*db_, std::string("SELECT ") + kDocCols + " FROM documents WHERE corpus_id = ? ORDER BY name");
  s.bind_all(corpus_id);
  while (s.step()) out.push_back(read_document(s));
  return out;
}

// ---- versions --------------------------------------------------------------

CorpusVersionRow Catalog::bump_corpus_version(int64_t corpus_id) {
  std::lock_guard lock(mu_);
  std::vector<std::string> hashes;
  int64_t bytes = 0;
  {
    Statement s(*db_, "SELECT content_hash, bytes FROM documents WHERE corpus_id = ? ORDER BY content_hash");
    s.bind_all(corpus_id);
    while (s.step()) hashes.push_back(s.text(0)), bytes += s.int64(1);
  }
  std::string joined;
  for (const auto& h : hashes) joined += h + "\n";
  auto prev = latest_version(corpus_id);
  const int64_t version = prev ? prev->version + 1 : 1;
  Statement ins(*db_, "INSERT INTO corpus_versions (corpus_id, version, docs_hash, documents, bytes) VALUES (?,?,?,?,?)");
  ins.bind_all(corpus_id, version, xxh3_128_hex(joined), static_cast<int64_t>(hashes.size()), bytes).run();
  return *latest_version(corpus_id);
}

std::optional<CorpusVersionRow> Catalog::latest_version(int64_t corpus_id) const {
  std::lock_guard lock(mu_);
  Statement s(*db_, std::string("SELECT ") + kVersionCols +
                       " FROM corpus_versions WHERE corpus_id = ? ORDER BY version DESC LIMIT 1");
  if (!s.bind_all(corpus_id).step()) return std::nullopt;
  return read_version(s);
}

std::vector<CorpusVersionRow> Catalog::list_versions(int64_t corpus_id) const {
  std::lock_guard lock(mu_);
  std::vector<CorpusVersionRow> out;
  Statement s(*db_, std::string("SELECT ") + kVersionCols + " FROM corpus_versions WHERE corpus_id = ? ORDER BY version");
  s.bind_all(corpus_id);
  while (s.step()) out.push_back(read_version(s));
  return out;
}

// ---- cartridges ------------------------------------------------------------

CartridgeRow Catalog::insert_cartridge(const CartridgeRow& r) {
  check_json(r.metrics, "cartridge metrics");
  std::lock_guard lock(mu_);
  int64_t total = 0;
  for (const auto& t : r.tensors) total += t.bytes;
  Statement s(*db_,
              "INSERT INTO cartridges (corpus_id, corpus_version, model_fingerprint, tokens, dtype, status, "
              "metrics, bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id");
  s.bind_all(r.corpus_id, r.corpus_version, r.model_fingerprint, r.tokens, r.dtype, to_string(r.status), r.metrics,
             total)
      .step();
  const int64_t id = s.int64(0);
  for (const auto& t : r.tensors) {
    Statement ts(*db_,
                 "INSERT INTO cartridge_tensors (cartridge_id, name, blob_key, dtype, shape, bytes) "
                 "VALUES (?, ?, ?, ?, ?, ?)");
    ts.bind_all(id, t.name, t.blob_key, t.dtype, shape_json(t.shape), t.bytes).run();
  }
  if (r.status == RowStatus::Ready) notify({CatalogEvent::Kind::CartridgePublished, r.corpus_id, id});
  return *cartridge(id);
}

std::vector<CartridgeRow> Catalog::select_cartridges(std::string_view where, std::optional<int64_t> arg) const {
  std::lock_guard lock(mu_);
  std::vector<CartridgeRow> out;
  Statement s(*db_,
              "SELECT id, corpus_id, corpus_version, model_fingerprint, tokens, dtype, status, metrics, bytes, "
              "created_at FROM cartridges " +
                  std::string(where) + " ORDER BY id");
  if (arg) s.bind(1, *arg);
  while (s.step()) {
    CartridgeRow c;
    c.id = s.int64(0);
    c.corpus_id = s.int64(1);
    c.corpus_version = s.int64(2);
    c.model_fingerprint = s.text(3);
    c.tokens = s.int64(4);
    c.dtype = s.text(5);
    c.status = row_status_from_string(s.text(6));
    c.metrics = s.text(7);
    c.bytes = s.int64(8);
    c.created_at = s.text(9);
    out.push_back(std::move(c));
  }
  for (auto& c : out) {
    Statement t(*db_,
                "SELECT name, blob_key, dtype, shape, bytes FROM cartridge_tensors WHERE cartridge_id = ? "
                "ORDER BY rowid");
    t.bind_all(c.id);
    while (t.step()) c.tensors.push_back({t.text(0), t.text(1), t.text(2), parse_shape(t.text(3)), t.int64(4)});
  }
  return out;
}

std::optional<CartridgeRow> Catalog::cartridge(int64_t id) const {
  auto v = select_cartridges("WHERE id = ?", id);
  if (v.empty()) return std::nullopt;
  return std::move(v.front());
}

std::vector<CartridgeRow> Catalog::list_cartridges(std::optional<int64_t> corpus_id) const {
  return corpus_id ? select_cartridges("WHERE corpus_id = ?", corpus_id) : select_cartridges("", std::nullopt);
}

void Catalog::set_cartridge_status(int64_t id, RowStatus status) {
  std::lock_guard lock(mu_);
  Statement(*db_, "UPDATE cartridges SET status = ? WHERE id = ?").bind_all(to_string(status), id).run();
  if (db_->changes() == 0) throw NotFound("no cartridge with id " + std::to_string(id));
  if (status == RowStatus::Ready) {
    Statement s(*db_, "SELECT corpus_id FROM cartridges WHERE id = ?");
    if (s.bind_all(id).step()) notify({CatalogEvent::Kind::CartridgePublished, s.int64(0), id});
  }
}

void Catalog::delete_cartridge(int64_t id) {
  std::lock_guard lock(mu_);
  Statement(*db_, "DELETE FROM cartridges WHERE id = ?").bind_all(id).run();
}

// ---- tokenized corpora -----------------------------------------------------

TokenizedRow Catalog::insert_tokenized(const TokenizedRow& r) {
  std::lock_guard lock(mu_);
  Statement s(*db_,
              "INSERT INTO tokenized_corpora (corpus_id, corpus_version, tokenizer_fingerprint, tokens, blob_key, "
              "bytes, status) VALUES (?, ?, ?, ?, ?, ?, ?)");
  s.bind_all(r.corpus_id, r.corpus_version, r.tokenizer_fingerprint, r.tokens, r.blob_key, r.bytes, to_string(r.status))
      .run();
  return *find_tokenized(r.corpus_id, r.corpus_version, r.tokenizer_fingerprint);
}

std::optional<TokenizedRow> Catalog::find_tokenized(int64_t corpus_id, int64_t corpus_version,
                                                    std::string_view fp) const {
  std::lock_guard lock(mu_);
  Statement s(*db_, std::string("SELECT ") + kTokCols +
                       " FROM tokenized_corpora WHERE corpus_id = ? AND corpus_version = ? AND "
                       "tokenizer_fingerprint = ?");
  if (!s.bind_all(corpus_id, corpus_version, fp).step()) return std::nullopt;
  return TokenizedRow{s.int64(0), s.int64(1), s.int64(2), s.text(3), s.int64(4),
                      s.text(5),  s.int64(6), row_status_from_string(s.text(7)), s.text(8)};
}

// ---- artifacts -------------------------------------------------------------

std::vector<ArtifactRow> Catalog::list_artifacts(std::string_view scope) const {
  std::lock_guard lock(mu_);
  std::vector<ArtifactRow> out;
  Statement s(*db_, std::string("SELECT ") + kArtifactCols + " FROM artifacts WHERE scope = ? ORDER BY id");
  s.bind_all(scope);
  while (s.step()) out.push_back(read_artifact(s));
  return out;
}

std::optional<ArtifactRow> Catalog::find_artifact(std::string_view scope, std::string_view name) const {
  std::lock_guard lock(mu_);
  Statement s(*db_, std::string("SELECT ") + kArtifactCols + " FROM artifacts WHERE scope = ? AND name = ?");
  if (!s.bind_all(scope, name).step()) return std::nullopt;
  return read_artifact(s);
}

std::vector<ArtifactRow> Catalog::replace_artifacts(std::string_view scope, const std::vector<ArtifactRow>& rows) {
  for (const auto& r : rows) {
    check_json(r.meta, "artifact meta");
    check_json(r.shape, "artifact shape");
  }
  std::lock_guard lock(mu_);
  std::vector<ArtifactRow> old = list_artifacts(scope);
  Statement(*db_, "DELETE FROM artifacts WHERE scope = ?").bind_all(scope).run();
  for (const auto& r : rows) {
    Statement ins(*db_,
                  "INSERT INTO artifacts (scope, name, blob_key, dtype, shape, bytes, meta, status) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    ins.bind_all(scope, r.name, r.blob_key, r.dtype, r.shape, r.bytes, r.meta, to_string(r.status)).run();
  }
  return old;
}

std::vector<ArtifactRow> Catalog::delete_artifacts(std::string_view prefix) {
  if (prefix.empty()) throw InvalidArgument("delete_artifacts: the scope prefix is empty");
  std::lock_guard lock(mu_);
  // Scopes below `prefix` are those in [prefix + "/", prefix + "0"): '0'
  // follows '/' in byte order, and the range uses the (scope, name) index.
  const std::string lo = std::string(prefix) + "/", hi = std::string(prefix) + "0";
  const std::string where = " FROM artifacts WHERE scope = ? OR (scope >= ? AND scope < ?)";
  std::vector<ArtifactRow> out;
  Statement s(*db_, std::string("SELECT ") + kArtifactCols + where + " ORDER BY id");
  s.bind_all(prefix, lo, hi);
  while (s.step()) out.push_back(read_artifact(s));
  Statement(*db_, "DELETE" + where).bind_all(prefix, lo, hi).run();
  return out;
}

// ---- jobs ------------------------------------------------------------------

JobRow Catalog::read_job(const Statement& s) {
  JobRow j;
  j.id = s.int64(0);
  j.kind = s.text(1);
  if (!s.is_null(2)) j.corpus_id = s.int64(2);
  j.state = job_state_from_string(s.text(3));
  j.progress = s.real(4);
  j.progress_message = s.text(5);
  j.attempts = s.int64(6);
  j.error = s.text_or_null(7);
  j.params = s.text(8);
  j.created_at = s.text(9);
  j.started_at = s.text_or_null(10);
  j.finished_at = s.text_or_null(11);
  return j;
}

JobRow Catalog::create_job(std::string_view kind, std::optional<int64_t> corpus_id, std::string_view params) {
  check_json(params, "job params");
  std::lock_guard lock(mu_);
  Statement s(*db_, "INSERT INTO jobs (kind, corpus_id, params) VALUES (?, ?, ?) RETURNING id");
  s.bind_all(kind, corpus_id, params).step();
  return *job(s.int64(0));
}

std::optional<JobRow> Catalog::job(int64_t id) const {
  std::lock_guard lock(mu_);
  Statement s(*db_, std::string("SELECT ") + kJobColumns + " FROM jobs WHERE id = ?");
  if (!s.bind_all(id).step()) return std::nullopt;
  return read_job(s);
}

std::vector<JobRow> Catalog::list_jobs() const {
  std::lock_guard lock(mu_);
  std::vector<JobRow> out;
  Statement s(*db_, std::string("SELECT ") + kJobColumns + " FROM jobs ORDER BY id");
  while (s.step()) out.push_back(read_job(s));
  return out;
}

void Catalog::start_job(int64_t id) {
  std::lock_guard lock(mu_);
  Statement(*db_,
            std::string("UPDATE jobs SET state = 'running', attempts = attempts + 1, error = NULL, finished_at = NULL, "
                        "started_at = ") +
                db_->now_sql() + " WHERE id = ? AND state IN ('queued', 'failed')")
      .bind_all(id)
      .run();
  if (db_->changes() == 0) throw InvalidArgument("job " + std::to_string(id) + " does not exist or is not startable");
}

void Catalog::set_job_progress(int64_t id, double progress, std::string_view message) {
  if (!(progress >= 0 && progress <= 1))
    throw InvalidArgument("job progress must be within [0, 1], got " + std::to_string(progress));
  std::lock_guard lock(mu_);
  Statement(*db_, "UPDATE jobs SET progress = ?, progress_message = ? WHERE id = ?").bind_all(progress, message, id).run();
  if (db_->changes() == 0) throw NotFound("no job with id " + std::to_string(id));
}

void Catalog::finish_job(int64_t id, JobState state, std::optional<std::string> error) {
  if (!is_finished(state))
    throw InvalidArgument("finish_job: state must be done, failed or cancelled, not '" + std::string(to_string(state)) +
                          "'");
  std::lock_guard lock(mu_);
  Statement(*db_,
            std::string("UPDATE jobs SET state = ?, error = ?, progress = CASE WHEN ? = 'done' THEN 1 ELSE progress END, "
                        "finished_at = ") +
                db_->now_sql() + " WHERE id = ?")
      .bind_all(to_string(state), error, to_string(state), id)
      .run();
  if (db_->changes() == 0) throw NotFound("no job with id " + std::to_string(id));
}

// ---- jobs across nodes -----------------------------------------------------

std::optional<JobRow> Catalog::claim_job(std::string_view node, int64_t lease_ms, int64_t now_ms) {
  if (node.empty()) throw InvalidArgument("claim_job: the node name is empty");
  if (lease_ms <= 0) throw InvalidArgument("claim_job: the lease must be longer than 0 ms");
  Transaction tx(*this);
  int64_t id = 0;
  {
    Statement s(*db_, std::string("SELECT id FROM jobs WHERE kind = 'train' AND ((state = 'queued' AND not_before_ms <= ?1) "
                                  "OR (state = 'running' AND lease_expires_ms < ?1)) ORDER BY id LIMIT 1") +
                          db_->claim_rows_sql());
    if (!s.bind_all(now_ms).step()) return std::nullopt;
    id = s.int64(0);
  }
  Statement(*db_, std::string("UPDATE jobs SET state = 'running', attempts = attempts + 1, error = NULL, "
                              "finished_at = NULL, lease_owner = ?, lease_expires_ms = ?, started_at = ") +
                      db_->now_sql() + " WHERE id = ?")
      .bind_all(node, now_ms + lease_ms, id)
      .run();
  tx.commit();
  return job(id);
}

bool Catalog::renew_lease(int64_t job_id, std::string_view node, int64_t lease_ms, int64_t now_ms) {
  std::lock_guard lock(mu_);
  Statement(*db_, "UPDATE jobs SET lease_expires_ms = ? WHERE id = ? AND state = 'running' AND lease_owner = ?")
      .bind_all(now_ms + lease_ms, job_id, node)
      .run();
  return db_->changes() > 0;
}

std::optional<Catalog::JobLease> Catalog::job_lease(int64_t job_id) const {
  std::lock_guard lock(mu_);
  Statement s(*db_, "SELECT lease_owner, lease_expires_ms FROM jobs WHERE id = ? AND lease_owner IS NOT NULL");
  if (!s.bind_all(job_id).step()) return std::nullopt;
  return JobLease{s.text(0), s.int64(1)};
}

JobRow Catalog::create_auto_job(int64_t corpus_id, int64_t corpus_version, std::string_view params,
                                int64_t not_before_ms, bool* created) {
  check_json(params, "job params");
  std::lock_guard lock(mu_);
  // ON CONFLICT against the unique (corpus_id, auto_version): on
  // PostgreSQL a second node's insert waits for the first's commit and
  // then does nothing, so the row read below is always the one that won.
  Statement ins(*db_,
                "INSERT INTO jobs (kind, corpus_id, params, not_before_ms, auto_version) VALUES ('train', ?, ?, ?, ?) "
                "ON CONFLICT (corpus_id, auto_version) DO NOTHING RETURNING id");
  *created = ins.bind_all(corpus_id, params, not_before_ms, corpus_version).step();
  if (*created) return *job(ins.int64(0));
  Statement s(*db_, std::string("SELECT ") + kJobColumns + " FROM jobs WHERE corpus_id = ? AND auto_version = ?");
  if (!s.bind_all(corpus_id, corpus_version).step())
    throw Error("create_auto_job: the conflicting job of corpus " + std::to_string(corpus_id) + " version " +
                std::to_string(corpus_version) + " is gone");
  return read_job(s);
}

void Catalog::notify(const CatalogEvent& event) {
  if (db_->dialect() != SqlDialect::PostgreSql) return;
  std::lock_guard lock(mu_);
  Statement(*db_, std::string("SELECT pg_notify('") + kCatalogEventChannel + "', ?)").bind_all(event.to_json()).run();
}

// ---- blob references -------------------------------------------------------

std::vector<BlobRef> Catalog::blob_references() const {
  std::lock_guard lock(mu_);
  std::vector<BlobRef> out;
  Statement s(*db_, "SELECT blob_key, owner_table, owner_id FROM blob_references ORDER BY blob_key");
  while (s.step()) out.push_back({s.text(0), s.text(1), s.int64(2)});
  return out;
}

void Catalog::mark_damaged(const BlobRef& ref) {
  static constexpr std::string_view kOwners[] = {"documents", "cartridges", "tokenized_corpora", "artifacts"};
  if (std::find(std::begin(kOwners), std::end(kOwners), ref.owner_table) == std::end(kOwners))
    throw InvalidArgument("mark_damaged: unknown owner table '" + ref.owner_table + "'");
  std::lock_guard lock(mu_);
  Statement(*db_, "UPDATE " + ref.owner_table + " SET status = 'damaged' WHERE id = ?").bind_all(ref.owner_id).run();
}

bool Catalog::clear_damaged(const std::string& owner_table, int64_t owner_id) {
  static constexpr std::string_view kOwners[] = {"documents", "cartridges", "tokenized_corpora", "artifacts"};
  if (std::find(std::begin(kOwners), std::end(kOwners), owner_table) == std::end(kOwners))
    throw InvalidArgument("clear_damaged: unknown owner table '" + owner_table + "'");
  std::lock_guard lock(mu_);
  Statement(*db_, "UPDATE " + owner_table + " SET status = 'ready' WHERE id = ? AND status = 'damaged'")
      .bind_all(owner_id)
      .run();
  return db_->changes() > 0;
}

}  // namespace cdb
