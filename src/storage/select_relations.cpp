#include "storage/select_relations.h"

namespace cdb {

namespace {

// A row of a corpus that no longer exists (a job of a dropped corpus has
// corpus_id NULL) is copied; the views decide about it.
#define CDB_CORPUS_GONE(table) \
  " OR corpus_id IS NULL OR NOT EXISTS (SELECT 1 FROM {s}.corpora AS g WHERE g.id = " table ".corpus_id)"

const SelectRelation kRelations[] = {
    {"corpora", {"id", "name", "description", "options", "owner", "created_at"}, "id", nullptr, "id = ANY($1)", "id"},
    {"documents",
     {"id", "corpus_id", "name", "content_hash", "bytes", "status", "created_at"},
     "corpus_id",
     nullptr,
     "corpus_id = ANY($1)" CDB_CORPUS_GONE("documents"),
     "id"},
    {"corpus_versions",
     {"corpus_id", "version", "docs_hash", "documents", "bytes", "created_at"},
     "corpus_id",
     nullptr,
     "corpus_id = ANY($1)" CDB_CORPUS_GONE("corpus_versions"),
     "corpus_id, version"},
    {"cartridges",
     {"id", "corpus_id", "corpus_version", "model_fingerprint", "tokens", "dtype", "status", "metrics", "bytes",
      "created_at"},
     "corpus_id",
     nullptr,
     "corpus_id = ANY($1)" CDB_CORPUS_GONE("cartridges"),
     "id"},
    {"cartridge_tensors",
     {"cartridge_id", "name", "dtype", "shape", "bytes"},
     "(SELECT c.corpus_id FROM main.cartridges AS c WHERE c.id = cartridge_id)",
     nullptr,
     "NOT EXISTS (SELECT 1 FROM {s}.cartridges AS c WHERE c.id = cartridge_tensors.cartridge_id"
     " AND c.corpus_id <> ALL ($1) AND EXISTS (SELECT 1 FROM {s}.corpora AS g WHERE g.id = c.corpus_id))",
     "rowid"},
    {"tokenized_corpora",
     {"id", "corpus_id", "corpus_version", "tokenizer_fingerprint", "tokens", "bytes", "status", "created_at"},
     "corpus_id",
     nullptr,
     "corpus_id = ANY($1)" CDB_CORPUS_GONE("tokenized_corpora"),
     "id"},
    {"jobs",
     {"id",    "kind",        "corpus_id",  "state",        "progress",    "progress_message", "attempts",
      "error", "params",      "created_at", "started_at",   "finished_at", "corpus_version",   "not_before_ms",
      "step",  "total_steps", "loss",       "tokens_per_s", "eta_s",       "cartridge_id"},
     "corpus_id",
     nullptr,
     "corpus_id = ANY($1)" CDB_CORPUS_GONE("jobs"),
     "id"},
    {"pins",
     {"corpus_id", "created_at"},
     "corpus_id",
     nullptr,
     "corpus_id = ANY($1)" CDB_CORPUS_GONE("pins"),
     "corpus_id"},
    {"settings", {"key", "value", "updated_at"}, nullptr, "key = 'model_fingerprint'", nullptr, "key"},
};

#undef CDB_CORPUS_GONE

}  // namespace

std::span<const SelectRelation> select_relations() { return kRelations; }

}  // namespace cdb
