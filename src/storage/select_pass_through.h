// SelectPassThrough: what runs a SELECT a client wrote (the language's
// pass-through, docs/server.md) against the catalog, whichever engine
// holds it: CatalogReader on a SQLite catalog, PgCatalogReader on a
// PostgreSQL one. Both give the same result for the same statement on the
// same catalog contents: the same allowlist (select_relations.h), the same
// refusals and errors, the same rendering of values, the same limits.
//
// Contract (each implementation's header says how it keeps it):
// - columns() and describe() prepare the statement without reading rows;
//   run() runs it to completion under SelectLimits.
// - A statement SQLite cannot compile is InvalidArgument; what the allowlist
//   refuses, PermissionDenied; past a limit, LimitExceeded or
//   ResourceExhausted naming the limit (never a silently cut result);
//   stopped by is_cancelled, Cancelled; the catalog unreachable, IoError.
// - Only the rows of corpora `visible` accepts appear (empty: all).
//
// Not thread-safe: one statement at a time per object (the Executor takes
// one per SELECT in flight from the Database's SelectReaderPool).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cdb {

class Catalog;

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
  // a SELECT that grows it past this (a sort of a huge recursive CTE, or a
  // PostgreSQL catalog's copy) stops.
  int64_t max_sqlite_heap_bytes = 512LL << 20;
  // PostgreSQL catalog only (PgCatalogReader): the rows copied from one
  // table for one statement. A table with more visible rows fails the
  // statement with LimitExceeded naming the table; it is never cut short.
  // A copy takes ~375 bytes of SQLite heap a document row (indexes
  // included, measured), so near this cap max_sqlite_heap_bytes may be the
  // nearer limit (ResourceExhausted, also naming the table).
  int64_t max_copy_rows = 1'000'000;
  // PostgreSQL catalog only: statement_timeout of the copy's transaction.
  int64_t copy_timeout_ms = 30'000;
};

// A result: column names, each column's type (PostgreSQL's type names:
// int8, float8, text, bool, timestamptz, json, oid, name, int2, int4, char,
// ...) and its rows as text (SQLite's rendering; bool as 0 / 1).
struct SelectResult {
  std::vector<std::string> columns;
  std::vector<std::string> types;
  std::vector<std::vector<std::string>> rows;
};

class SelectPassThrough {
 public:
  virtual ~SelectPassThrough() = default;

  // The columns of `sql` without running it. Errors as run()'s prepare.
  virtual std::vector<std::string> columns(std::string_view sql, const CorpusVisibility& visible = {}) = 0;
  // The same with their types (as far as the statement declares them; an
  // expression is text until a run shows its values).
  virtual SelectResult describe(std::string_view sql, const CorpusVisibility& visible = {}) = 0;
  // Runs one SELECT to completion.
  virtual SelectResult run(std::string_view sql, const CorpusVisibility& visible = {},
                           const std::function<bool()>& is_cancelled = {}) = 0;

  virtual const SelectLimits& limits() const = 0;
};

// The pass-through for `catalog`'s engine, on a connection of its own (a
// read-only SQLite connection to its file, or a PostgreSQL connection to
// its URL).
std::unique_ptr<SelectPassThrough> open_select_pass_through(const Catalog& catalog, SelectLimits limits = {});

// What an operator should know about the pass-through on `catalog`, once at
// start: on PostgreSQL, that the read-only role is missing (the login could
// not create it) and copies run read-only without it. None where all is well.
std::optional<std::string> select_pass_through_warning(const Catalog& catalog);

}  // namespace cdb
