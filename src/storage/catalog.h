// Catalog: the SQL database of everything that is not a large value
// (corpora, documents, versions, cartridges, jobs). SQLite by default (a
// file, in WAL mode with foreign keys on), or PostgreSQL (a
// postgresql://user@host:port/db location, catalog_location.h), which
// several servers may share. Schema migrations (sql/NNN_name.sql, and
// sql/postgresql/NNN_name.sql where PostgreSQL needs its own text; both
// compiled in) are applied in order at open, each in its own transaction,
// and recorded in schema_migrations; on PostgreSQL an advisory lock lets
// one opener at a time migrate.
//
// Thread-safe: calls are serialized on one connection; a Transaction holds
// the connection for its lifetime.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "storage/catalog_event.h"
#include "storage/catalog_states.h"
#include "storage/sql_connection.h"
#include "storage/sql_statement.h"

namespace cdb {

struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
  std::string_view postgresql_sql = {};  // empty: `sql` runs on PostgreSQL too

  std::string_view sql_for(SqlDialect d) const {
    return d == SqlDialect::PostgreSql && !postgresql_sql.empty() ? postgresql_sql : sql;
  }
};

// The migrations in sql/, in version order.
std::span<const Migration> builtin_migrations();

struct CorpusRow {
  int64_t id = 0;
  std::string name;
  std::string description;
  std::string options = "{}";  // JSON
  std::string created_at;
};

struct DocumentRow {
  int64_t id = 0;
  int64_t corpus_id = 0;
  std::string name;
  std::string content_hash;  // xxh3-128 hex of the text
  int64_t bytes = 0;         // text length
  std::string blob_key;
  RowStatus status = RowStatus::Ready;
  std::string created_at;
};

struct CorpusVersionRow {
  int64_t corpus_id = 0;
  int64_t version = 0;
  std::string docs_hash;
  int64_t documents = 0;
  int64_t bytes = 0;
  std::string created_at;
};

struct CartridgeTensorRow {
  std::string name;
  std::string blob_key;
  std::string dtype;
  std::vector<int64_t> shape;
  int64_t bytes = 0;  // stored (compressed) bytes
};

struct CartridgeRow {
  int64_t id = 0;
  int64_t corpus_id = 0;
  int64_t corpus_version = 0;
  std::string model_fingerprint;
  int64_t tokens = 0;
  std::string dtype;
  RowStatus status = RowStatus::Ready;
  std::string metrics = "{}";  // JSON
  int64_t bytes = 0;
  std::string created_at;
  std::vector<CartridgeTensorRow> tensors;
};

struct TokenizedRow {
  int64_t id = 0;
  int64_t corpus_id = 0;
  int64_t corpus_version = 0;
  std::string tokenizer_fingerprint;
  int64_t tokens = 0;
  std::string blob_key;
  int64_t bytes = 0;
  RowStatus status = RowStatus::Ready;
  std::string created_at;
};

struct JobRow {
  int64_t id = 0;
  std::string kind;
  std::optional<int64_t> corpus_id;
  JobState state = JobState::Queued;
  double progress = 0;
  std::string progress_message;
  int64_t attempts = 0;
  std::optional<std::string> error;
  std::string params = "{}";
  std::string created_at;
  std::optional<std::string> started_at;
  std::optional<std::string> finished_at;
};

// One tensor of an artifact scope (sql/002_artifacts.sql).
struct ArtifactRow {
  int64_t id = 0;
  std::string scope;
  std::string name;
  std::string blob_key;
  std::string dtype;
  std::string shape = "[]";  // JSON array of int64
  std::string meta = "{}";   // JSON, the same for every row of one put
  int64_t bytes = 0;         // stored (compressed) bytes
  RowStatus status = RowStatus::Ready;
  std::string created_at;
};

// A blob key referenced by a row (the blob_references view).
struct BlobRef {
  std::string blob_key;
  std::string owner_table;
  int64_t owner_id = 0;
};

class Catalog {
 public:
  // Opens or creates `file` and applies the built-in migrations.
  explicit Catalog(const std::filesystem::path& file, bool read_only = false);
  // As above with an explicit migration list (tests use a prefix of the
  // built-in list to make a database at an older schema version).
  Catalog(const std::filesystem::path& file, std::span<const Migration> migrations, bool read_only = false);
  // On an open connection (open_catalog_connection: SQLite or PostgreSQL).
  explicit Catalog(std::unique_ptr<SqlConnection> connection,
                   std::span<const Migration> migrations = builtin_migrations(), bool read_only = false);

  // Highest applied migration version (0 for an empty database).
  int schema_version() const;
  std::vector<std::pair<int, std::string>> applied_migrations() const;

  // BEGIN IMMEDIATE on construction, ROLLBACK on destruction unless commit().
  class Transaction {
   public:
    explicit Transaction(Catalog& c);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit();

   private:
    Catalog& c_;
    std::unique_lock<std::recursive_mutex> lock_;
    bool done_ = false;
  };

  // Corpora.
  CorpusRow create_corpus(std::string_view name, std::string_view description = {},
                          std::string_view options_json = "{}");
  std::optional<CorpusRow> find_corpus(std::string_view name) const;
  CorpusRow corpus(std::string_view name) const;  // NotFound names it
  std::optional<CorpusRow> find_corpus(int64_t id) const;
  CorpusRow corpus(int64_t id) const;  // NotFound names the id
  std::vector<CorpusRow> list_corpora() const;

  // Documents.
  std::optional<DocumentRow> find_document(int64_t corpus_id, std::string_view name) const;
  std::optional<DocumentRow> find_document_by_hash(int64_t corpus_id, std::string_view content_hash) const;
  DocumentRow insert_document(const DocumentRow& row);
  void delete_document(int64_t id);
  std::vector<DocumentRow> list_documents(int64_t corpus_id) const;

  // Appends the next version of a corpus from its current documents.
  CorpusVersionRow bump_corpus_version(int64_t corpus_id);
  std::optional<CorpusVersionRow> latest_version(int64_t corpus_id) const;
  std::vector<CorpusVersionRow> list_versions(int64_t corpus_id) const;

  // Cartridges (with their tensor rows).
  CartridgeRow insert_cartridge(const CartridgeRow& row);
  std::optional<CartridgeRow> cartridge(int64_t id) const;
  std::vector<CartridgeRow> list_cartridges(std::optional<int64_t> corpus_id = std::nullopt) const;
  void set_cartridge_status(int64_t id, RowStatus status);
  void delete_cartridge(int64_t id);

  // Owners and grants (sql/004_roles.sql; catalog_roles.cpp). A grant to
  // kPublicGrantee is a grant to every user.
  static constexpr std::string_view kPublicGrantee = "public";
  void set_corpus_owner(int64_t corpus_id, std::string_view owner);
  std::optional<std::string> corpus_owner(int64_t corpus_id) const;  // none: superusers only
  void grant_usage(int64_t corpus_id, std::string_view grantee);      // granting twice is one grant
  bool revoke_usage(int64_t corpus_id, std::string_view grantee);     // false: there was no such grant
  // Owned by `user`, or granted to it or to PUBLIC.
  bool may_use_corpus(int64_t corpus_id, std::string_view user) const;
  std::vector<int64_t> usable_corpora(std::string_view user) const;
  // What `user`'s corpora hold, for quotas: corpora, bytes of documents,
  // jobs queued or running.
  int64_t owned_corpora(std::string_view user) const;
  int64_t owned_document_bytes(std::string_view user) const;
  int64_t owned_active_jobs(std::string_view user) const;

  // Tokenized corpora.
  TokenizedRow insert_tokenized(const TokenizedRow& row);
  std::optional<TokenizedRow> find_tokenized(int64_t corpus_id, int64_t corpus_version,
                                             std::string_view tokenizer_fingerprint) const;

  // Artifacts. replace_artifacts deletes every row of `scope` and inserts
  // `rows` (their scope, dtype, shape, meta, blob_key, bytes are used) and
  // returns the deleted rows; call it inside a Transaction to make the swap
  // one atomic step. delete_artifacts removes the scope `prefix` and every
  // scope below it ("job/17" covers "job/17/checkpoint", not "job/170") and
  // returns the removed rows.
  std::vector<ArtifactRow> replace_artifacts(std::string_view scope, const std::vector<ArtifactRow>& rows);
  std::vector<ArtifactRow> list_artifacts(std::string_view scope) const;  // in insertion order
  std::optional<ArtifactRow> find_artifact(std::string_view scope, std::string_view name) const;
  std::vector<ArtifactRow> delete_artifacts(std::string_view prefix);

  // Jobs. JobTable (jobs/) reads wider rows of the same table: its SELECTs
  // start with kJobColumns and read them with read_job, so that the row's
  // layout is written once.
  static constexpr const char* kJobColumns =
      "id, kind, corpus_id, state, progress, progress_message, attempts, error, params, created_at, started_at, "
      "finished_at";
  static constexpr int kJobColumnCount = 12;
  static JobRow read_job(const Statement& s);
  JobRow create_job(std::string_view kind, std::optional<int64_t> corpus_id, std::string_view params_json = "{}");
  std::optional<JobRow> job(int64_t id) const;
  std::vector<JobRow> list_jobs() const;
  void start_job(int64_t id);  // running, attempts + 1, started_at
  void set_job_progress(int64_t id, double progress, std::string_view message);
  // state: done, failed or cancelled (is_finished).
  void finish_job(int64_t id, JobState state, std::optional<std::string> error = std::nullopt);

  // Jobs across nodes (sql/006_job_leases.sql). claim_job takes, in one
  // transaction, the oldest train job that is queued and due (not_before_ms
  // <= now_ms) or running under a lease that expired (its node died): it
  // becomes running (attempts + 1) under `node`'s lease until now_ms +
  // lease_ms. Concurrent claimers on any number of connections or nodes
  // each get a different job. renew_lease extends the lease while `node`
  // still holds it and returns false once it does not (the job was
  // reclaimed, or finished): the runner must then stop.
  std::optional<JobRow> claim_job(std::string_view node, int64_t lease_ms, int64_t now_ms);
  bool renew_lease(int64_t job_id, std::string_view node, int64_t lease_ms, int64_t now_ms);
  struct JobLease {
    std::string owner;
    int64_t expires_ms = 0;
  };
  std::optional<JobLease> job_lease(int64_t job_id) const;
  // The debounced auto-training job for one corpus version, queued once
  // however many nodes ask: the first call creates it (*created true),
  // every later one, on any node, gets that row (*created false).
  JobRow create_auto_job(int64_t corpus_id, int64_t corpus_version, std::string_view params_json,
                         int64_t not_before_ms, bool* created);

  // Tells the other servers sharing a PostgreSQL catalog (CatalogEvents),
  // when the caller's transaction commits (at once outside one). Nothing on
  // SQLite. insert_cartridge (of a ready cartridge), set_cartridge_status
  // (to ready), grant_usage and revoke_usage send theirs themselves.
  void notify(const CatalogEvent& event);

  // Blob keys referenced by rows, and marking their owners damaged.
  std::vector<BlobRef> blob_references() const;
  void mark_damaged(const BlobRef& ref);
  // Sets a damaged row back to ready (its blobs verified again); other
  // states are left alone. Returns whether the row was damaged.
  bool clear_damaged(const std::string& owner_table, int64_t owner_id);

  const SqlConnection& db() const { return *db_; }
  SqlDialect dialect() const { return db_->dialect(); }
  // The SQLite file, for what only SQLite has (the SELECT pass-through,
  // the online backup); none on PostgreSQL.
  std::optional<std::filesystem::path> sqlite_file() const;
  std::recursive_mutex& mutex() const { return mu_; }

 private:
  void migrate(std::span<const Migration> migrations);
  std::vector<CartridgeRow> select_cartridges(std::string_view where, std::optional<int64_t> arg) const;

  std::unique_ptr<SqlConnection> db_;
  bool read_only_;
  mutable std::recursive_mutex mu_;
};

}  // namespace cdb
