// Store: a directory holding an LMDB environment of blobs (<dir>/blobs) and
// a SQLite catalog (<dir>/catalog.sqlite), kept consistent by one protocol:
//
//  1. a value's blobs are written and committed (fsync) in LMDB first;
//  2. then the catalog row(s) naming them commit. Only then is the value
//     visible. Removal runs the other way: row first, then blobs.
//  3. Open checks before it changes anything (store_identity.h): the
//     LMDB file's size against its meta pages (no SIGBUS on a truncated
//     file), then the identity both files carry. A catalog that is missing,
//     empty or new while LMDB holds blobs, files of two different stores,
//     or an LMDB missing blobs the catalog names are refused with
//     CorruptData saying what to do (restore from a backup; `cartridge
//     store recover`): the fault is then far likelier the file than the
//     data, and "repairing" the catalog would make it permanent. A store
//     written before identities gets one at its first open, if its two
//     files agree (every blob the catalog names is present).
//  4. Then (read-write) blobs that no committed row references (the
//     leftovers of a crash between 1 and 2) are moved to the quarantine
//     sub-database, never deleted at open, unless more than 10% of the
//     blobs would go at once: GC then moves nothing and says so
//     (OpenReport::gc_stopped). Quarantined blobs older than 7 days (by
//     default) are purged.
//  5. Every read verifies the blob's checksums; a row whose blob fails is
//     marked damaged and never served. verify_all() checks every blob;
//     with repair, damaged rows whose blobs verify again become ready.
//
// scratch/ (beside the store, the planner's job scratch) is disposable and
// never part of these checks.
//
// With StoreOptions::s3_blobs (`--blobs s3://bucket/prefix`) the blobs
// live in the bucket (s3_blob_store.h) and <dir>/blobs becomes a
// size-bounded read-through cache of them (blob_cache.h). The protocol is
// the same with the bucket in LMDB's place: a blob's PUT to S3 commits it
// (1), then the row (2); reads take the cache, else S3 (ranged parallel
// GETs), verify the checksums and fill the cache. The identity check (3)
// matches the catalog against the bucket's identity object, never against
// the cache (a cache of another store is emptied). The open-time garbage
// collection (4) does not run against a bucket: other processes may be
// between their blob PUT and their row commit; collect_bucket_garbage
// collects it on demand with an age threshold (docs/scale-out.md).
//
// One process may open a store read-write at a time (an flock on
// <dir>/LOCK); within it, Store is safe to share between threads.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/blob_store.h"
#include "storage/catalog.h"
#include "storage/catalog_retry.h"
#include "storage/s3/s3_options.h"
#include "storage/store_identity.h"
#include "storage/tensor_codec.h"

namespace cdb {

// The open-time garbage collection.
struct GcOptions {
  double quarantine_days = 7;     // quarantined blobs older than this are purged
  double max_orphan_share = 0.10; // above this share of all blobs, nothing is moved
  size_t orphan_allowance = 256;  // this many orphans are always moved (one interrupted write's worth)
  bool force = false;             // move orphans whatever their share
  // With blobs on S3 (collect_bucket_garbage): an unreferenced blob is
  // moved only once its LastModified is older than this many seconds,
  // since a younger one may belong to a write whose row has not committed
  // yet (on any node sharing the bucket).
  double grace_seconds = 3600;
};

// What collect_bucket_garbage did.
struct BucketGcReport {
  size_t blobs_listed = 0;         // objects under PREFIX/blobs/
  size_t orphans_moved = 0;        // unreferenced and older than the grace: moved to PREFIX/quarantine/
  uint64_t orphan_bytes = 0;       // their bytes, gone from PREFIX/blobs/
  size_t young_kept = 0;           // unreferenced but within the grace (or without a LastModified): kept
  size_t quarantine_purged = 0;    // quarantined longer than GcOptions::quarantine_days: deleted with their records
  uint64_t purged_bytes = 0;       // their bytes, gone from the bucket (less any noncurrent versions it keeps)
  std::string stopped;             // why nothing was moved (too many orphans, too long a listing); empty when it ran
};

struct StoreOptions {
  // Where the catalog lives (catalog_location.h): empty for
  // <dir>/catalog.sqlite, or postgresql://user@host:port/db. With
  // PostgreSQL the blobs still live in <dir>/blobs, and the identity checks
  // (3. above) match that catalog against them as they match the file.
  std::string catalog;
  // How a lost PostgreSQL catalog connection is made again.
  CatalogRetry catalog_retry;
  bool read_only = false;
  bool create_if_missing = true;
  // Open although blobs the catalog names are missing from LMDB, marking
  // their rows damaged (`cartridge store verify --repair`). Otherwise such
  // an open is refused.
  bool accept_missing_blobs = false;
  GcOptions gc;
  BlobStoreOptions blobs;
  CodecOptions codec;
  // Blobs on S3, the local LMDB their cache; disabled (url empty) by default.
  S3BlobsOptions s3_blobs;
};

// What opening the store repaired.
struct OpenReport {
  size_t orphan_blobs_removed = 0;  // moved from the blobs to the quarantine
  size_t quarantine_purged = 0;     // quarantined longer than GcOptions::quarantine_days, deleted
  size_t restored_from_quarantine = 0;  // referenced again by the catalog, moved back
  std::string gc_stopped;           // why GC moved nothing (too many orphans); empty when it ran
  std::vector<BlobRef> missing;     // referenced but absent (accept_missing_blobs); owners marked damaged
  bool identity_created = false;    // a new store, or an older one stamped at this open
};

struct StoreStats {
  size_t corpora = 0;
  size_t documents = 0;
  size_t cartridges = 0;
  size_t artifacts = 0;  // rows (tensors), all scopes
  size_t damaged_rows = 0;
  size_t blob_entries = 0;
  size_t blob_used_bytes = 0;
  size_t blob_file_bytes = 0;
  size_t catalog_bytes = 0;  // catalog.sqlite plus its WAL; on PostgreSQL the database's size
  OpenReport opened;
};

struct DamagedBlob {
  BlobRef ref;
  std::string reason;
};

struct VerifyReport {
  size_t repaired_rows = 0;  // damaged rows whose blobs verified again (repair)
  size_t blobs_checked = 0;
  size_t bytes_checked = 0;  // stored bytes
  std::vector<DamagedBlob> damaged;
  bool ok() const { return damaged.empty(); }
};

struct PutDocumentResult {
  DocumentRow document;
  bool added = false;  // false: identical content was already in the corpus
  CorpusVersionRow version;
};

struct NamedTensor {
  std::string name;
  TensorView tensor;
};

class BlobCache;
class DirLock;
class S3BlobStore;

class Store {
 public:
  explicit Store(const std::filesystem::path& dir, StoreOptions options = {});
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::filesystem::path& dir() const { return dir_; }
  Catalog& catalog() { return *catalog_; }
  const Catalog& catalog() const { return *catalog_; }
  BlobStore& blobs() { return *blobs_; }
  const OpenReport& open_report() const { return opened_; }

  CorpusRow create_corpus(std::string_view name, std::string_view description = {},
                          std::string_view options_json = "{}");
  // Creates the corpus when absent.
  CorpusRow ensure_corpus(std::string_view name);

  // Adds a document (deduplicated by content within the corpus) and appends
  // a corpus version. InvalidArgument when the name is taken by different
  // content.
  PutDocumentResult put_document(std::string_view corpus, std::string_view name, std::string_view text);
  std::string read_document(std::string_view corpus, std::string_view name);
  std::string read_document(const DocumentRow& doc);
  // Removes a document and appends a corpus version; NotFound if absent.
  CorpusVersionRow remove_document(std::string_view corpus, std::string_view name);

  // Stores a cartridge's tensors and then its row. meta supplies corpus_id,
  // corpus_version, model_fingerprint, tokens, dtype, metrics; tensors and
  // bytes are filled in. Returns the committed row. in_transaction, when
  // given, runs inside the transaction that inserts the row, with the row:
  // what must commit with the new version or not at all (the training
  // job's end, checked against its lease); what it throws rolls the row
  // back, erases the blobs and is rethrown.
  CartridgeRow put_cartridge(const CartridgeRow& meta, const std::vector<NamedTensor>& tensors,
                             const std::function<void(const CartridgeRow&)>& in_transaction = {});
  DecodedTensor read_cartridge_tensor(int64_t cartridge_id, std::string_view tensor);
  // Decompresses straight into dst (e.g. an at::Tensor's storage).
  void read_cartridge_tensor_into(int64_t cartridge_id, std::string_view tensor, void* dst, size_t dst_bytes);
  void remove_cartridge(int64_t cartridge_id);

  // Token tensors of a corpus version (i32), keyed by tokenizer fingerprint.
  TokenizedRow put_tokens(int64_t corpus_id, int64_t corpus_version, std::string_view tokenizer_fingerprint,
                          const TensorView& tokens);
  DecodedTensor read_tokens(const TokenizedRow& row);

  // Artifacts: named tensors grouped by a scope, such as a training job's
  // checkpoint ("job/17/checkpoint") or a synthesized dataset
  // ("dataset/<corpus id>/<version>/<params hash>"). They are ordinary
  // referenced blobs: crash-safe, kept by the open-time garbage collection,
  // checked by verify_all, until removed.
  //
  // put_artifacts replaces every tensor of `scope` (creating it if new) in
  // one step: the new blobs are committed in LMDB, then one catalog
  // transaction swaps the scope's rows, then the old blobs are erased. A
  // crash at any point leaves the old or the new set complete, never a mix;
  // the other set's blobs are collected at the next open. Names are 1..200
  // bytes and unique; meta_json (valid JSON) is stored with every row. An
  // empty `tensors` leaves the scope empty. Returns the committed rows.
  std::vector<ArtifactRow> put_artifacts(std::string_view scope, const std::vector<NamedTensor>& tensors,
                                         std::string_view meta_json = "{}");
  // The scope's rows in put order; empty when the scope has none.
  std::vector<ArtifactRow> list_artifacts(std::string_view scope) const;
  // Verified read. NotFound, or CorruptData (row then marked damaged), both
  // naming the scope and the name.
  DecodedTensor read_artifact(std::string_view scope, std::string_view name);
  // Removes the scope `scope_prefix` and every scope below it ("job/17"
  // covers "job/17/checkpoint", not "job/170"): rows first, then blobs.
  // Returns the number of tensors removed. InvalidArgument on "".
  size_t remove_artifacts(std::string_view scope_prefix);

  // Decodes every referenced blob, marks the owners of bad ones damaged.
  // With repair, rows marked damaged whose every blob now verifies (a blob
  // restored from a backup, a file fault that is gone) are ready again.
  VerifyReport verify_all(bool repair = false);

  // Garbage collection of a store whose blobs live in a bucket (`cartridge
  // store gc --blobs ...`; the open-time collection does not run there).
  // First deletes quarantined blobs older than gc.quarantine_days (and
  // their records); then moves to the quarantine every blob under
  // PREFIX/blobs/ that no catalog row names and whose LastModified is older
  // than gc.grace_seconds, unless they are more than gc.max_orphan_share of
  // the blobs (and gc.orphan_allowance) without gc.force, as at an LMDB
  // store's open. Only PREFIX/blobs/ and PREFIX/quarantine/ are looked at:
  // never the identity, the records of live blobs or jobs' scratch. Moved
  // blobs leave this node's cache. Safe beside writers on every node (why:
  // the comment in store.cpp); one collection runs at a time among the
  // nodes sharing a PostgreSQL catalog, another started meanwhile does
  // nothing and says so in `stopped`. InvalidArgument on a store whose
  // blobs are not on S3.
  BucketGcReport collect_bucket_garbage(const GcOptions& gc);

  // Keys in the quarantine, oldest first, with the unix time each was moved.
  std::vector<std::pair<std::string, int64_t>> quarantined() const;

  StoreStats stats() const;

 private:
  void check_identity(const std::vector<BlobRef>& refs);
  void check_bucket_identity(const std::vector<BlobRef>& refs);
  // Step 1 of every write: each (key, blob, record) made durable, in the
  // bucket (then the cache) or in LMDB, in one transaction.
  struct BlobWrite {
    std::string key;
    std::string_view blob;
    std::string record;
  };
  void commit_blobs(const std::vector<BlobWrite>& writes);
  void erase_blobs(const std::vector<std::string>& keys);
  void collect_garbage();
  // Reads and verifies the blob of a row; on failure marks the row damaged
  // (when writable) and rethrows.
  void read_verified(const BlobRef& ref, const std::function<void(std::string_view blob)>& use);
  // read_verified with blobs on S3: the cache, else the bucket (then cached).
  void read_through(const BlobRef& ref, const std::function<void(std::string_view blob)>& use);
  std::string new_blob_id() const;

  std::filesystem::path dir_;
  StoreOptions options_;
  std::unique_ptr<DirLock> lock_;
  std::unique_ptr<BlobStore> blobs_;  // the blobs; with s3_blobs, their cache
  std::unique_ptr<S3BlobStore> remote_;  // with s3_blobs
  std::unique_ptr<BlobCache> cache_;     // with s3_blobs
  std::unique_ptr<Catalog> catalog_;
  OpenReport opened_;
  std::mutex write_mu_;  // one put/remove at a time: blob commit, then row commit
  std::mutex gc_mu_;     // one collect_bucket_garbage at a time
};

}  // namespace cdb
