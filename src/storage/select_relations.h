// SelectRelations: the allowlist of the SELECT pass-through, the catalog
// tables a client's SELECT may read and, of each, the columns it sees. One
// list for both engines: CatalogReader makes a TEMP view of each on SQLite;
// PgCatalogReader copies exactly these columns from PostgreSQL, under a
// role that sql/postgresql/009_select_reader.sql grants SELECT on exactly
// these columns. A column added here needs a migration granting it there
// (tests/storage/pg_catalog_reader_test.cpp compares the two).
//
// Blob keys are internal (they address the blob store); settings holds host
// paths of the model and tokenizer, so only the fingerprint is shown;
// artifacts, schema_migrations, corpus_grants, store_identity, nodes and
// blob_references are not exposed at all.
#pragma once

#include <span>
#include <vector>

namespace cdb {

struct SelectRelation {
  const char* name;
  std::vector<const char*> columns;
  // SQLite: the corpus id of a row, as an expression over the table's
  // columns (nullptr: not a corpus's rows). A row whose corpus is gone is
  // asked about as corpus 0.
  const char* corpus_expr;
  // Both engines: the rows shown at all (nullptr: every row).
  const char* filter;
  // PostgreSQL: a condition keeping at least the rows of the corpora whose
  // ids are $1 (bigint[]) and the rows whose corpus is gone (the views then
  // ask about those exactly as on SQLite). {s} stands for the catalog's
  // schema. nullptr: not a corpus's rows.
  const char* pg_visible;
  // PostgreSQL: the copy's order, that of the SQLite table's rowids, so
  // that a SELECT without ORDER BY lists rows in the same order on both.
  const char* pg_order;
};

std::span<const SelectRelation> select_relations();

}  // namespace cdb
