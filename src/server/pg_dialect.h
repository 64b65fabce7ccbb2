// PgDialect: the statements in PostgreSQL's own dialect that drivers and
// psql send about the database, read with PostgreSQL 15's grammar
// (libpg_query) and answered or translated for the engine:
//
// - SET / RESET / SHOW of a run-time parameter PgSettings keeps (and
//   SQLAlchemy's "show transaction isolation level", which the grammar
//   itself names transaction_isolation) become Set / Reset / Show for the
//   session to answer. Other SETs and SHOWs (the language's own: SET
//   max_tokens, SHOW CORPORA) pass through untouched.
// - A SELECT that reads pg_catalog or information_schema, or uses what only
//   PostgreSQL has (:: casts, regclass, ~ and OPERATOR(pg_catalog.~),
//   = ANY(ARRAY[...]), COLLATE, current_user, version(), current_setting(),
//   format_type(), pg_get_userbyid(), has_*_privilege(), ...), is translated
//   from the parse tree into SQLite's dialect over the reader's pg_catalog
//   tables (storage/pg_catalog_tables.h). Session values (the user, the
//   parameters) are inlined as literals.
// - A SELECT (or one branch of a UNION) that inner-joins a relation which
//   is always empty here (pg_index, pg_policy, pg_inherits, pg_publication,
//   pg_statistic_ext, ...) returns no rows: it becomes "SELECT NULL AS
//   <its columns> WHERE 0" whatever else it uses, so psql's \d queries of
//   partitions, policies and publications are answered without translating
//   array constructs they contain.
// - Any other SELECT, and every other statement, passes through unchanged.
//
// Safety does not rest on this translation: its output is one SELECT that
// runs through the same read-only, allowlisted, row-filtered CatalogReader
// as a SELECT a user writes (on a PostgreSQL catalog too: PgCatalogReader
// runs it on SQLite over a copy, never on PostgreSQL). A construct it does not translate fails with
// cartridgedb::Unsupported (0A000) naming it. Statements over 64 KiB and
// parse trees deeper than 200 are not translated.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "server/pg_settings.h"

namespace cdb::server {

struct PgStatement {
  enum class Kind { PassThrough, Set, Reset, ResetAll, Show, ShowAll, SetNoOp, Select };
  Kind kind = Kind::PassThrough;
  std::string name;   // Set / Reset / Show: the parameter's canonical name
  std::string value;  // Set
  std::string sql;    // Select: the statement in SQLite's dialect
  // PassThrough of a SHOW of one name: the name (an engine syntax error
  // for it means an unknown parameter, 42704).
  std::string show_name;
};

// Classifies and, for Select, translates one statement.
PgStatement classify_pg_statement(std::string_view text, const PgSettings& settings);

}  // namespace cdb::server
