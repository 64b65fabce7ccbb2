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
//   columns (no blob keys; settings only model_fingerprint, never a host
//   path). pg_catalog and information_schema describe those relations
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
// Not thread-safe: a reader runs one statement at a time (the Executor keeps
// one per SELECT in flight). Readers of one catalog run concurrently.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;

namespace cdb {

class SqliteDb;

// Whether the session may see the rows of a corpus (by id). Empty: every
// corpus is visible.
using CorpusVisibility = std::function<bool(int64_t corpus_id)>;

struct SelectLimits {
  int64_t max_rows = 100'000;           // rows of one result
  int64_t max_result_bytes = 64 << 20;  // text of all cells of one result
  int max_value_bytes = 16 << 20;       // one string or blob (SQLITE_LIMIT_LENGTH)
  // VM instructions of one statement: one to a few seconds of one core,
  // far more than a query of a catalog needs (a join of 10,000 jobs with
  // 1,000 documents is ~10^8), and what stops a runaway recursive CTE where
  // no statement timeout is set.
  int64_t max_instructions = 250'000'000;
  // SQLite's heap in this process (sqlite3_memory_used, all connections):
  // a SELECT that grows it past this (a sort of a huge recursive CTE) stops.
  int64_t max_sqlite_heap_bytes = 512LL << 20;
};

// A result: column names, each column's type (PostgreSQL's type names:
// int8, float8, text, bool, timestamptz, json, oid, name, int2, int4, char,
// ...) and its rows as text (SQLite's rendering; bool as 0 / 1).
struct SelectResult {
  std::vector<std::string> columns;
  std::vector<std::string> types;
  std::vector<std::vector<std::string>> rows;
};

class CatalogReader {
 public:
  // Opens `catalog_file` (a Catalog's database, already migrated).
  explicit CatalogReader(const std::filesystem::path& catalog_file, SelectLimits limits = {});
  ~CatalogReader();
  CatalogReader(const CatalogReader&) = delete;
  CatalogReader& operator=(const CatalogReader&) = delete;

  // The columns of `sql` without running it. Errors as run()'s prepare.
  std::vector<std::string> columns(std::string_view sql, const CorpusVisibility& visible = {});
  // The same with their types (as far as the statement declares them; an
  // expression is text until a run shows its values).
  SelectResult describe(std::string_view sql, const CorpusVisibility& visible = {});

  // Runs one SELECT to completion. A statement SQLite cannot compile is
  // InvalidArgument with SQLite's message; what the allowlist refuses is
  // PermissionDenied; past a limit LimitExceeded / ResourceExhausted;
  // stopped by is_cancelled, Cancelled; another failure while stepping
  // (malformed JSON, say) IoError with SQLite's message.
  SelectResult run(std::string_view sql, const CorpusVisibility& visible = {},
                   const std::function<bool()>& is_cancelled = {});

  const SelectLimits& limits() const { return limits_; }

  // What a statement in flight consults; public only for the C callbacks.
  struct Guard;

 private:
  SelectLimits limits_;
  std::unique_ptr<SqliteDb> conn_;
  sqlite3* db_ = nullptr;  // conn_'s
  std::unique_ptr<Guard> guard_;
};

}  // namespace cdb
