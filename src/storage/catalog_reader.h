// CatalogReader: runs a SELECT a client wrote (the language's pass-through)
// on a connection of its own that can only read chosen parts of the catalog,
// only the rows of corpora the caller may see, and only within fixed limits.
//
// Contract:
// - The connection is opened SQLITE_OPEN_READONLY with PRAGMA query_only,
//   SQLITE_DBCONFIG_DEFENSIVE on and the two-argument fts3_tokenizer() and
//   load_extension() off. It never takes the Catalog's mutex: in WAL mode it
//   reads a snapshot while the writer goes on.
// - An allowlist authorizer admits SELECT, recursive CTEs, reads of the
//   relations below and calls of harmless built-in functions (kFunctions in
//   the .cpp). Everything else (PRAGMA, ATTACH, other tables, internal
//   columns, fts3_tokenizer, load_extension, ...) fails at prepare with
//   PermissionDenied naming it.
// - The relations a SELECT sees are TEMP views named as the catalog tables
//   (corpora, documents, corpus_versions, cartridges, cartridge_tensors,
//   tokenized_corpora, jobs, pins, settings), each with its allowlisted
//   columns (select_relations.h: no blob keys; settings only
//   model_fingerprint, never a host path). pg_catalog and information_schema describe those relations
//   (pg_catalog_tables.h). Rows that belong to a corpus appear only where the statement's
//   CorpusVisibility accepts that corpus id; a row whose corpus is gone (a
//   job of a dropped corpus) is asked about as corpus id 0.
// - Limits (SelectLimits): a result of more rows or bytes than the caps, a
//   value longer than the length limit, a statement past its VM instruction
//   budget or SQLite's heap past its budget fails with LimitExceeded or
//   ResourceExhausted naming the limit; nothing is silently truncated.
// - is_cancelled is polled every kProgressOps VM instructions and between
//   rows; true stops the statement with Cancelled.
//
// Not thread-safe: a reader runs one statement at a time (the Executor takes
// one per SELECT in flight from the Database's SelectReaderPool). Readers of
// one catalog run concurrently.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "storage/select_pass_through.h"

struct sqlite3;

namespace cdb {

class SqliteDb;

class CatalogReader : public SelectPassThrough {
 public:
  // Opens `catalog_file` (a Catalog's database, already migrated).
  explicit CatalogReader(const std::filesystem::path& catalog_file, SelectLimits limits = {});
  // On `connection`, opened read-only on a migrated catalog database (a
  // file, or PgCatalogReader's in-memory copy).
  explicit CatalogReader(std::unique_ptr<SqliteDb> connection, SelectLimits limits = {});
  ~CatalogReader() override;
  CatalogReader(const CatalogReader&) = delete;
  CatalogReader& operator=(const CatalogReader&) = delete;

  std::vector<std::string> columns(std::string_view sql, const CorpusVisibility& visible = {}) override;
  SelectResult describe(std::string_view sql, const CorpusVisibility& visible = {}) override;

  // Runs one SELECT to completion. A statement SQLite cannot compile is
  // InvalidArgument with SQLite's message; what the allowlist refuses is
  // PermissionDenied; past a limit LimitExceeded / ResourceExhausted;
  // stopped by is_cancelled, Cancelled; another failure while stepping
  // (malformed JSON, say) IoError with SQLite's message.
  SelectResult run(std::string_view sql, const CorpusVisibility& visible = {},
                   const std::function<bool()>& is_cancelled = {}) override;

  // The catalog tables (select_relations.h names) that `sql` reads, as the
  // authorizer reports them while preparing it: what PgCatalogReader must
  // copy. Errors as run()'s prepare, so a refused statement reads nothing.
  std::set<std::string> tables_read(std::string_view sql);

  const SelectLimits& limits() const override { return limits_; }

  // What a statement in flight consults; public only for the C callbacks.
  struct Guard;

 private:
  SelectLimits limits_;
  std::unique_ptr<SqliteDb> conn_;
  sqlite3* db_ = nullptr;  // conn_'s
  std::unique_ptr<Guard> guard_;
};

}  // namespace cdb
