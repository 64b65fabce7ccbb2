// PgCatalogTables: PostgreSQL's system catalogs (pg_catalog) and
// information_schema as TEMP tables and views of a CatalogReader's
// connection, describing the relations that connection lets a SELECT read,
// so that drivers and tools (psql's \d, pgjdbc's DatabaseMetaData,
// SQLAlchemy's inspector) can list them.
//
// Contract:
// - create() makes, on the connection it is given (before its authorizer
//   is installed), one TEMP table per pg_catalog relation (pg_class,
//   pg_attribute, pg_type, ...) with PostgreSQL's column names and, as the
//   declared SQLite type, each column's PostgreSQL type name (oid, name,
//   bool, int2, ...): so a result column reports its type, and a quoted
//   number compares with an oid column as PostgreSQL's '16384' does.
//   information_schema relations are TEMP views named
//   "information_schema.<name>" (the dot is part of the name).
// - The rows describe only what the connection exposes: the relations
//   passed in (namespace public, relkind 'r', owner role 10), the pg_catalog
//   relations themselves, built-in types, one database. Nothing of the
//   SQLite file behind them (its tables, indexes, schema) appears. Rows of
//   data stay filtered by the reader's views; relation names are not data.
// - Relations that have no rows in this database (pg_index, pg_constraint,
//   pg_trigger, pg_policy, pg_inherits, ...) exist, empty, so that the
//   queries which read them return no rows instead of failing.
// - register_functions() adds the SQL functions those queries call that
//   SQLite lacks (format_type, regexp for PostgreSQL's ~, ...): pure, with
//   bounded work (regexp: PCRE2 with a match limit, pattern and subject at
//   most 4 KiB).
#pragma once

#include <set>
#include <string>
#include <vector>

struct sqlite3;

namespace cdb {

class SqliteDb;

struct PgRelationColumn {
  std::string name;
  std::string pg_type;  // int8, float8, text, timestamptz, json, bytea
  bool not_null = false;
};

struct PgRelation {
  std::string name;
  std::vector<PgRelationColumn> columns;
};

class PgCatalogTables {
 public:
  // The names create() makes (for the reader's allowlist).
  static const std::set<std::string>& relation_names();
  static const std::set<std::string>& function_names();

  // The relations' OIDs are 16384 + their index in `relations`, stable for
  // a given catalog schema.
  static void create(SqliteDb& conn, const std::vector<PgRelation>& relations);
  static void register_functions(sqlite3* db);
};

}  // namespace cdb
