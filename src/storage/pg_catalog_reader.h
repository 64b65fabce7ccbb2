// PgCatalogReader: the SELECT pass-through (select_pass_through.h) on a
// PostgreSQL catalog. A client's SELECT never runs on PostgreSQL: it runs
// on SQLite, through a CatalogReader, over an in-memory copy of the catalog
// tables it reads.
//
// Why not run the client's text on PostgreSQL: the pass-through's language
// is SQLite's (what the SQLite catalog runs), and PostgreSQL reads the same
// text differently: its nested /* */ comments and E'' strings split a text
// unlike SQLite's, so an allowlist checked in one dialect is not what the
// other runs (checking it with PostgreSQL's grammar instead, through the
// libpg_query the server links, would change the language between the two
// catalogs); and on PostgreSQL one statement can escalate itself
// (set_config('role', ...), query_to_xml('...') running any SQL) when the
// session's login owns the catalog. Running it on SQLite gives the one
// parser, authorizer, allowlist, error positions and pg_catalog emulation
// that the SQLite catalog has, so the same SELECT has the same result and
// the same refusals on both catalogs.
//
// Contract:
// - At construction: its own PostgreSQL connection to the catalog (not the
//   Catalog's, so a copy never holds the Catalog's lock), and a private
//   in-memory SQLite database (memdb, named at random) with the catalog's
//   SQLite schema, made by running the built-in migrations (an SQLite
//   Catalog on it), empty. A CatalogReader reads it on a read-only
//   connection.
// - columns() and describe() prepare the statement on the empty copy: no
//   PostgreSQL round trip. run() first prepares it there (refusals happen
//   here, before anything is read from PostgreSQL), takes from SQLite's
//   authorizer the catalog tables it reads, copies those (and nothing else)
//   from PostgreSQL, runs it, and empties the copy again.
// - The copy: fixed SQL text of ours (never the client's), in ONE
//   transaction, BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY (one
//   consistent snapshot across the tables), with SET LOCAL
//   statement_timeout = SelectLimits::copy_timeout_ms and SET LOCAL ROLE to
//   the catalog's reader role (sql/postgresql/009_select_reader.sql: SELECT
//   on exactly the allowlisted columns, nothing else). Where the role is
//   missing (the login lacked CREATEROLE), the copy runs READ ONLY without
//   it (select_pass_through_warning; the Database says so once when it
//   opens, i.e. at `cartridge serve`'s start).
// - Only the allowlisted columns (select_relations.h) are copied, and, of
//   the tables that belong to a corpus, only the rows of corpora `visible`
//   accepts, plus rows whose corpus is gone (the views then filter exactly
//   as on SQLite). Values arrive as SQLite stores them on a SQLite catalog:
//   integers as integers, reals as reals, booleans as 0 / 1, NULL as NULL,
//   text (the *_at timestamps and JSON columns are text on both) as text.
// - Bounds: a table with more than SelectLimits::max_copy_rows rows to copy
//   fails with LimitExceeded naming the table and the cap (never a cut
//   copy); SQLite's heap past max_sqlite_heap_bytes, ResourceExhausted;
//   past copy_timeout_ms, LimitExceeded; is_cancelled is polled between
//   tables and rows (rows come through a cursor, 2,000 a round trip):
//   Cancelled. A failed copy leaves the reader usable (both transactions
//   roll back, closing the cursor).
// - A lost PostgreSQL connection is IoError; the next statement reconnects.
//
// Cost: one copy per statement, no cache (a cache keyed by a change counter
// would need every writer on every node to bump one; docs/scale-out.md has
// the measured cost). The emptied copy is kept for the next statement,
// unless it grew past 16 MiB: SQLite's memdb keeps its largest size
// allocated, which would count against every SELECT's heap budget, so a
// fresh one is made instead.
//
// Not thread-safe: one statement at a time (the Executor takes one per
// SELECT in flight from the Database's SelectReaderPool).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "storage/pg_catalog_url.h"
#include "storage/select_pass_through.h"

namespace cdb {

class Catalog;
class CatalogReader;
class PgConnection;
class SqliteDb;

class PgCatalogReader : public SelectPassThrough {
 public:
  explicit PgCatalogReader(const PgCatalogUrl& url, SelectLimits limits = {});
  ~PgCatalogReader() override;
  PgCatalogReader(const PgCatalogReader&) = delete;
  PgCatalogReader& operator=(const PgCatalogReader&) = delete;

  std::vector<std::string> columns(std::string_view sql, const CorpusVisibility& visible = {}) override;
  SelectResult describe(std::string_view sql, const CorpusVisibility& visible = {}) override;
  SelectResult run(std::string_view sql, const CorpusVisibility& visible = {},
                   const std::function<bool()>& is_cancelled = {}) override;
  const SelectLimits& limits() const override { return limits_; }

  // The role the copy runs under (quoted); none where it runs without one.
  const std::optional<std::string>& role() const { return role_; }

  // The catalog's reader role's name (unquoted), as the migration derives
  // it, on `pg`'s database and schema.
  static std::string role_name(const PgConnection& pg);
  // Whether `pg`'s login can SET ROLE to the reader role; if not, why.
  static std::optional<std::string> role_problem(const PgConnection& pg);

 private:
  void connect();
  // A new, empty in-memory copy and its reader.
  void make_copy();
  // The reader, on a fresh copy where clear() could not empty the last.
  CatalogReader& ready();
  void fill(const std::set<std::string>& tables, const CorpusVisibility& visible,
            const std::function<bool()>& is_cancelled);
  void clear();

  PgCatalogUrl url_;
  SelectLimits limits_;
  std::unique_ptr<PgConnection> pg_;
  std::string schema_;               // the catalog's schema, quoted
  std::optional<std::string> role_;  // quoted
  // Per allowlisted table, the allowlisted columns the PostgreSQL catalog
  // has (an older schema may lack some; they stay NULL in the copy).
  std::map<std::string, std::vector<std::string>> pg_columns_;
  // Per table, the NOT NULL columns without a default that are not copied.
  std::map<std::string, std::vector<std::string>> fillers_;
  std::unique_ptr<Catalog> copy_;  // the in-memory SQLite catalog (writer)
  SqliteDb* copy_db_ = nullptr;    // copy_'s connection
  std::unique_ptr<CatalogReader> reader_;
  std::set<std::string> filled_;  // tables holding rows of the last copy
};

}  // namespace cdb
