#include "storage/store.h"

#include "storage/catalog_location.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <initializer_list>
#include <map>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/hash.h"
#include "storage/blob_cache.h"
#include "storage/blob_record.h"
#include "storage/catalog_location.h"
#include "storage/dir_lock.h"
#include "storage/lmdb_file_check.h"
#include "storage/quarantine.h"
#include "storage/s3/s3_blob_store.h"

namespace cdb {

namespace {

std::string doc_key(int64_t corpus_id, std::string_view hash) {
  return "doc/" + std::to_string(corpus_id) + "/" + std::string(hash);
}

// The corpus name for a blob record; "" when the id names no corpus.
std::string corpus_name_of(const Catalog& catalog, int64_t corpus_id) {
  std::lock_guard lock(catalog.mutex());
  Statement s(catalog.db(), "SELECT name FROM corpora WHERE id = ?");
  return s.bind_all(corpus_id).step() ? s.text(0) : std::string();
}

// Unsupported when either identity says a newer store format than this build's.
void check_format_version(const std::string& where, std::initializer_list<const std::optional<StoreIdentity>*> ids) {
  for (const auto* id : ids)
    if (*id && (*id)->format_version > kStoreFormatVersion)
      throw Unsupported(where + "written in store format " + std::to_string((*id)->format_version) +
                        ", newer than this build knows (" + std::to_string(kStoreFormatVersion) +
                        "); upgrade cartridgedb");
}

}  // namespace

Store::Store(const std::filesystem::path& dir, StoreOptions options) : dir_(dir), options_(std::move(options)) {
  // Everything up to check_identity() only reads: a store that is refused
  // is left exactly as it was found, for a backup to be restored over it or
  // for `cartridge store recover` to read.
  const std::filesystem::path catalog_file = dir_ / "catalog.sqlite";
  const bool pg_catalog = !options_.catalog.empty();
  std::error_code ec;
  // A PostgreSQL catalog is always "present": whether it is new or emptied
  // is told by its identity and rows, below.
  const bool catalog_present = pg_catalog || (std::filesystem::exists(catalog_file, ec) &&
                                              std::filesystem::file_size(catalog_file, ec) > 0 && !ec);
  // Throws CorruptData on a truncated data.mdb, before anything maps it.
  const LmdbFileState lmdb = check_lmdb_file(dir_ / "blobs");
  // With blobs on S3, LMDB is a cache: what it holds says nothing of the store.
  const bool on_s3 = options_.s3_blobs.enabled();
  if (!catalog_present) {
    // An empty catalog file is what a truncate, a failed copy or a full disk
    // leaves; taking it for a new store would orphan every blob.
    if (!on_s3 && lmdb.present && lmdb.main_entries > 0)
      throw CorruptData("store " + dir_.string() + ": catalog.sqlite is " +
                        (std::filesystem::exists(catalog_file, ec) ? "empty" : "missing") + " but blobs/data.mdb holds " +
                        std::to_string(lmdb.main_entries) +
                        " entries; this is not a new store. Restore catalog.sqlite from a backup, or rebuild it from "
                        "the blobs with: cartridge store recover " + dir_.string() + " (nothing was changed)");
    if (options_.read_only || !options_.create_if_missing)
      throw NotFound("no store at " + dir_.string() + " (create one with: cartridge store create " + dir_.string() +
                     ")");
  }
  if (!options_.read_only) {
    std::filesystem::create_directories(dir_, ec);
    if (ec) throw IoError("cannot create store directory " + dir_.string() + ": " + ec.message());
    lock_ = std::make_unique<DirLock>(dir_ / "LOCK");
  }
  catalog_ = std::make_unique<Catalog>(
      open_catalog_connection(pg_catalog ? options_.catalog : catalog_file.string(), options_.read_only,
                              options_.catalog_retry),
      builtin_migrations(), options_.read_only);
  const std::vector<BlobRef> refs = catalog_->blob_references();
  if (!lmdb.present && !on_s3) {
    // Opening would make LMDB write a fresh environment over the 0-byte file.
    auto id = read_identity(*catalog_);
    if (id || !refs.empty())
      throw CorruptData("store " + dir_.string() + ": blobs/data.mdb is " +
                        (lmdb.file_bytes == 0 && std::filesystem::exists(dir_ / "blobs" / "data.mdb", ec) ? "empty"
                                                                                                       : "missing") +
                        " but the catalog" + (id ? " of store " + id->store_id : std::string()) + " names " +
                        std::to_string(refs.size()) +
                        " blobs. Restore the blobs/ directory from a backup (cartridge store backup makes one); "
                        "nothing was changed");
  }
  BlobStoreOptions bo = options_.blobs;
  bo.read_only = options_.read_only;
  if (on_s3 && options_.read_only && !lmdb.present) bo.read_only = false;  // an empty cache to read through
  blobs_ = std::make_unique<BlobStore>(dir_ / "blobs", bo);
  if (on_s3) {
    remote_ = std::make_unique<S3BlobStore>(parse_s3_url(options_.s3_blobs.url), options_.s3_blobs.s3);
    if (!options_.read_only) cache_ = std::make_unique<BlobCache>(*blobs_, options_.s3_blobs.cache_bytes);
    check_bucket_identity(refs);
    return;
  }
  {
    // The cache of a store on S3 misses most blobs, and a write to it alone
    // would never reach the bucket: it is never opened as the store itself.
    auto txn = blobs_->read();
    if (auto url = txn.get(Space::kMeta, kCacheOfMetaKey))
      throw InvalidArgument("store " + dir_.string() + " keeps its blobs in " + std::string(*url) +
                            "; its blobs/ is only their cache. Open it with --blobs " + std::string(*url) +
                            " (and --s3-endpoint, --s3-region as before)");
  }
  check_identity(refs);
  if (!options_.read_only) collect_garbage();
}

void Store::check_bucket_identity(const std::vector<BlobRef>& refs) {
  const auto cat_id = read_identity(*catalog_);
  const auto bucket_id = remote_->read_identity();
  const std::string where = "store " + dir_.string() + " with blobs in " + remote_->location().url() + ": ";
  check_format_version(where, {&cat_id, &bucket_id});
  std::optional<StoreIdentity> adopt;
  if (cat_id && bucket_id) {
    if (cat_id->store_id != bucket_id->store_id)
      throw CorruptData(where + "the catalog belongs to store " + cat_id->store_id + " but the bucket to store " +
                        bucket_id->store_id + ": --blobs names another store's bucket or prefix (nothing was changed)");
  } else if (cat_id) {
    throw CorruptData(where + "the catalog belongs to store " + cat_id->store_id +
                      " but the bucket carries no identity (" + remote_->location().key("cdb.identity") +
                      "): --blobs names the wrong bucket or prefix, or the identity object was deleted (restore it "
                      "from the bucket's versions; nothing was changed)");
  } else {
    // A new catalog. It may join a bucket only while the bucket holds no
    // blobs: otherwise it is a lost or emptied catalog, and taking it for
    // a new store would orphan every blob.
    if (!refs.empty())
      throw CorruptData(where + "the catalog names " + std::to_string(refs.size()) +
                        " blobs of a store without identity; moving an LMDB store's blobs into a bucket is not "
                        "supported (nothing was changed)");
    if (!remote_->keys(1).empty())
      throw CorruptData(where + "the bucket holds blobs" +
                        (bucket_id ? " of store " + bucket_id->store_id : std::string()) +
                        " but the catalog is new or emptied; restore the catalog from a backup (nothing was changed)");
    adopt = bucket_id ? *bucket_id : new_store_identity();
  }
  if (adopt && !options_.read_only) {
    if (!bucket_id) remote_->write_identity(*adopt);  // the bucket first, as LMDB's copy: see store_identity.h
    write_identity(*catalog_, *adopt);
    opened_.identity_created = true;
  }
  if (cache_) {
    // The cache belongs to the bucket's store; one of another store (a data
    // directory pointed at another bucket) would serve its blobs under
    // colliding keys.
    const StoreIdentity id = adopt ? *adopt : *cat_id;
    if (read_identity(*blobs_) != std::optional<StoreIdentity>(id)) {
      cache_->clear();
      write_identity(*blobs_, id);
    }
    const std::string url = remote_->location().url();
    bool recorded;
    {
      auto txn = blobs_->read();
      recorded = txn.get(Space::kMeta, kCacheOfMetaKey) == std::optional<std::string_view>(url);
    }
    if (!recorded) blobs_->write([&](BlobStore::WriteTxn& w) { w.put(Space::kMeta, kCacheOfMetaKey, url); });
  }
}

void Store::commit_blobs(const std::vector<BlobWrite>& writes) {
  if (remote_) {
    for (const auto& w : writes) remote_->put(w.key, w.blob, w.record);
    for (const auto& w : writes) {
      try {
        if (cache_) cache_->insert(w.key, w.blob);
      } catch (const IoError&) {
        // A full cache disk: the blob is committed in the bucket all the same.
      }
    }
    return;
  }
  blobs_->write([&](BlobStore::WriteTxn& w) {
    for (const auto& b : writes) {
      w.put(b.key, b.blob);
      w.put(Space::kRecords, b.key, b.record);
    }
  });
}

void Store::erase_blobs(const std::vector<std::string>& keys) {
  if (keys.empty()) return;
  if (remote_) {
    if (cache_) cache_->erase(keys);
    for (const auto& k : keys) remote_->erase(k);
    return;
  }
  blobs_->write([&](BlobStore::WriteTxn& w) {
    for (const auto& k : keys) w.erase(k);
  });
}

Store::~Store() = default;

void Store::check_identity(const std::vector<BlobRef>& refs) {
  const auto cat_id = read_identity(*catalog_);
  const auto lmdb_id = read_identity(*blobs_);
  const size_t lmdb_blobs = blobs_->stats().entries;
  std::vector<BlobRef> missing;
  {
    auto txn = blobs_->read();
    for (const auto& r : refs)
      if (!txn.get(r.blob_key)) missing.push_back(r);
  }
  const std::string where = "store " + dir_.string() + ": ";
  // On PostgreSQL the catalog is named by its URL (without a password).
  const bool pg = catalog_->dialect() == SqlDialect::PostgreSql;
  const std::string catalog_name = pg ? "the catalog " + catalog_->db().describe() : "catalog.sqlite";
  const std::string what_to_do = ". Restore the matching " + std::string(pg ? "catalog database" : "catalog.sqlite") +
                                 " (or blobs/) from a backup, or rebuild the catalog from the blobs with: cartridge "
                                 "store recover " + dir_.string() + " (nothing was changed)";
  check_format_version(where, {&cat_id, &lmdb_id});
  std::optional<StoreIdentity> adopt;
  if (cat_id && lmdb_id) {
    if (cat_id->store_id != lmdb_id->store_id)
      throw CorruptData(where + catalog_name + " belongs to store " + cat_id->store_id + " but blobs/ to store " +
                        lmdb_id->store_id + ": the two files come from different data directories" + what_to_do);
  } else if (cat_id) {
    throw CorruptData(where + "the catalog belongs to store " + cat_id->store_id +
                      " but blobs/data.mdb carries no identity: it was replaced by an older or foreign file" +
                      what_to_do);
  } else if (lmdb_id) {
    // The one legitimate case is a creation interrupted between the two
    // identity writes: no blobs, no rows.
    if (lmdb_blobs > 0 || !refs.empty())
      throw CorruptData(where + "blobs/ belongs to store " + lmdb_id->store_id + " and holds " +
                        std::to_string(lmdb_blobs) +
                        " blobs, but the catalog carries no identity: it is new, emptied, or from another "
                        "directory" + what_to_do);
    adopt = lmdb_id;
  } else {
    // A store written before identities (or a new one): it gets one only if
    // its two files agree.
    if (refs.empty() && lmdb_blobs > 0)
      throw CorruptData(where + "the catalog names no blobs but blobs/ holds " + std::to_string(lmdb_blobs) +
                        ": the catalog is new or emptied" + what_to_do);
    if (!missing.empty())
      throw CorruptData(where + std::to_string(missing.size()) + " of the " + std::to_string(refs.size()) +
                        " blobs the catalog names are missing from blobs/ (first: '" + missing.front().blob_key +
                        "'), so the two files do not belong together" + what_to_do);
    adopt = new_store_identity();
  }
  if (!missing.empty() && !options_.read_only) {
    // Blobs the catalog names again (a restored catalog, or a collection
    // that was wrong) come back from the quarantine: GC is reversible.
    std::vector<std::string> keys;
    for (const auto& r : missing) keys.push_back(r.blob_key);
    std::vector<std::string> back;
    blobs_->write([&](BlobStore::WriteTxn& w) { back = restore_quarantined(w, keys); });
    opened_.restored_from_quarantine = back.size();
    const std::set<std::string> restored(back.begin(), back.end());
    std::erase_if(missing, [&](const BlobRef& r) { return restored.count(r.blob_key) > 0; });
  }
  if (!missing.empty()) {
    // Same store, but LMDB lacks blobs its catalog names: a damaged or
    // rolled-back data.mdb far more often than lost data. Marking the rows
    // damaged would outlive the fault, so only an explicit repair does.
    if (!options_.accept_missing_blobs && !options_.read_only)
      throw CorruptData(where + std::to_string(missing.size()) + " of the " + std::to_string(refs.size()) +
                        " blobs the catalog names are missing from blobs/data.mdb (first: '" +
                        missing.front().blob_key + "' of " + missing.front().owner_table + " row " +
                        std::to_string(missing.front().owner_id) +
                        "). Restore blobs/ from a backup; or, to serve the rest and mark those rows damaged, run: "
                        "cartridge store verify --repair " + dir_.string() + " (nothing was changed)");
    opened_.missing = missing;
  }
  if (adopt && !options_.read_only) {
    if (!lmdb_id) write_identity(*blobs_, *adopt);  // LMDB first: see store_identity.h
    write_identity(*catalog_, *adopt);
    opened_.identity_created = true;
  }
  if (!opened_.missing.empty() && !options_.read_only) {
    Catalog::Transaction tx(*catalog_);
    for (const auto& r : opened_.missing) catalog_->mark_damaged(r);
    tx.commit();
  }
}

void Store::collect_garbage() {
  std::lock_guard lock(write_mu_);
  const std::vector<BlobRef> refs = catalog_->blob_references();
  std::set<std::string, std::less<>> referenced;
  for (const auto& r : refs) referenced.insert(r.blob_key);
  std::vector<std::string> orphans;
  size_t total = 0;
  {
    auto txn = blobs_->read();
    txn.for_each({}, [&](std::string_view key, size_t) {
      ++total;
      if (!referenced.count(key)) orphans.emplace_back(key);
    });
  }
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  const GcOptions& gc = options_.gc;
  if (!orphans.empty() && !gc.force && orphans.size() > gc.orphan_allowance &&
      static_cast<double>(orphans.size()) > gc.max_orphan_share * static_cast<double>(total)) {
    // So many unreferenced blobs at once is not a crash's leftover; it is a
    // catalog that does not match (restored from an older backup, say).
    opened_.gc_stopped = std::to_string(orphans.size()) + " of " + std::to_string(total) +
                         " blobs have no catalog row, more than " +
                         std::to_string(static_cast<int>(gc.max_orphan_share * 100)) +
                         "%: garbage collection moved nothing. If the catalog is older than the blobs, restore the "
                         "newer one or run: cartridge store recover " + dir_.string() +
                         "; if they really are garbage, run: cartridge store gc --force " + dir_.string();
    orphans.clear();
  }
  const auto expired = quarantined_before(*blobs_, now - static_cast<int64_t>(gc.quarantine_days * 86400));
  try {
    if (!orphans.empty() || !expired.empty())
      blobs_->write([&](BlobStore::WriteTxn& w) {
        quarantine_blobs(w, orphans, now);
        purge_quarantined(w, expired);
      });
  } catch (const IoError& e) {
    // A full disk must not keep the store from opening: orphans are
    // harmless where they are, and the next open tries again.
    opened_.gc_stopped = std::string("garbage collection could not write: ") + e.what();
    return;
  }
  opened_.orphan_blobs_removed = orphans.size();
  opened_.quarantine_purged = expired.size();
}

namespace {

// A bucket listing is input: one run looks at no more objects than this
// (a store of that many blobs holds some 30 TB of Cartridges at 3 MB each).
constexpr size_t kMaxBucketGcListing = 20'000'000;

// One bucket collection at a time among the nodes sharing a PostgreSQL
// catalog: a session-level advisory lock on the catalog's connection
// (arbitrary fixed key, distinct from the migrations'). Collections at
// once would be safe on S3, whose CopyObject is atomic, but they would do
// the work twice, and a store whose copy is not atomic against a delete of
// its source (s3rver) can lose the quarantined copy of a blob both move.
// On SQLite one process opens the store read-write and holds it.
class FleetGcLock {
 public:
  explicit FleetGcLock(Catalog& catalog) : catalog_(catalog) {
    if (catalog_.dialect() != SqlDialect::PostgreSql) return;
    std::lock_guard lock(catalog_.mutex());
    Statement s(catalog_.db(), "SELECT pg_try_advisory_lock(27413438196167283)");
    pg_ = true;
    held_ = s.step() && s.int64(0) == 1;
  }
  ~FleetGcLock() {
    if (!pg_ || !held_) return;
    try {
      std::lock_guard lock(catalog_.mutex());
      catalog_.db().exec("SELECT pg_advisory_unlock(27413438196167283)");
    } catch (...) {
      // A lost session took its lock with it.
    }
  }
  FleetGcLock(const FleetGcLock&) = delete;
  FleetGcLock& operator=(const FleetGcLock&) = delete;
  bool held() const { return !pg_ || held_; }

 private:
  Catalog& catalog_;
  bool pg_ = false, held_ = false;
};

}  // namespace

// Why collecting a bucket that other nodes write to is safe:
//  - Every write PUTs its blobs before the row naming them commits (step 1,
//    then 2), and PUTs each blob afresh, even under a content-addressed key
//    that may be there already, so a blob's LastModified is at most its
//    write's start. An unreferenced blob is therefore garbage (a write that
//    failed or was abandoned, an erase that did not finish) or belongs to a
//    write in flight on some node, whose row is still to commit.
//  - A blob is moved only if the listing showed it older than the grace AND
//    no row names it in a catalog read made after that listing. A row that
//    commits after that read names a blob PUT more than the grace before
//    it: only a write that spent longer than the grace between its PUTs and
//    its commit could lose its blob, and the grace (1 h by default) is far
//    above any write (a Cartridge's tensors go up in seconds, then one
//    transaction). LastModified is the bucket's clock and the grace is
//    measured on this node's: keep the clocks in sync (NTP), as leases and
//    heartbeats already ask. An entry without a LastModified counts as young.
//  - The references read before the listing only narrow the candidates (so
//    that memory holds the few orphans, not the listing); the read after it
//    decides.
//  - Two collectors at once: one runs, the other does nothing and says so
//    (a mutex in the process, an advisory lock across nodes: FleetGcLock).
//    Should they overlap all the same (a collector whose catalog session
//    was lost and made again loses its lock), a move is a copy then a
//    delete and a purge a delete, all idempotent, and a blob the other
//    moved first is NotFound at the copy and passed over.
//  - Jobs' scratch (PREFIX/scratch/job/<id>/, live leases or not) is
//    outside blobs/ and never listed; a job deletes its own when it ends.
//    The identity and the records are not listed either.
//  - A moved blob is not lost: quarantine/ keeps it and records/ its record
//    for quarantine_days (then the purge, or the bucket's lifecycle rule),
//    and with versioning a deleted object stays as a noncurrent version.
BucketGcReport Store::collect_bucket_garbage(const GcOptions& gc) {
  if (!remote_)
    throw InvalidArgument("store " + dir_.string() +
                          " keeps its blobs in LMDB, where garbage is collected at every open (cartridge store gc)");
  if (options_.read_only) throw InvalidArgument("store " + dir_.string() + " is open read-only");
  if (!(gc.grace_seconds >= 0) || !(gc.quarantine_days >= 0))
    throw InvalidArgument("the grace and the quarantine days of garbage collection must be 0 or more");
  BucketGcReport rep;
  const std::string where = remote_->location().url();
  std::unique_lock here(gc_mu_, std::try_to_lock);
  if (!here.owns_lock()) {
    rep.stopped = "another garbage collection of " + where + " is running in this process; this one did nothing";
    return rep;
  }
  const FleetGcLock fleet(*catalog_);
  if (!fleet.held()) {
    rep.stopped = "another node sharing the catalog is collecting the garbage of " + where +
                  " now; this one did nothing";
    return rep;
  }
  const int64_t now = static_cast<int64_t>(std::time(nullptr));

  // Quarantined blobs past their days go first: what this run moves below
  // is not among them.
  const int64_t purge_before = now - static_cast<int64_t>(gc.quarantine_days * 86400);
  std::vector<S3BlobStore::Listed> expired;
  const bool quarantine_longer = remote_->for_each_quarantined(
      [&](const S3BlobStore::Listed& o) {
        if (o.last_modified > 0 && o.last_modified < purge_before) expired.push_back(o);
      },
      kMaxBucketGcListing);
  for (const auto& o : expired) {
    remote_->purge(o.key);
    ++rep.quarantine_purged;
    rep.purged_bytes += o.size;
  }

  auto referenced = [&] {
    std::set<std::string, std::less<>> keys;
    for (const auto& r : catalog_->blob_references()) keys.insert(r.blob_key);
    return keys;
  };
  const auto before = referenced();
  const int64_t young_from = now - static_cast<int64_t>(gc.grace_seconds);
  std::vector<S3BlobStore::Listed> candidates;
  const bool longer = remote_->for_each_blob(
      [&](const S3BlobStore::Listed& o) {
        ++rep.blobs_listed;
        if (before.count(o.key)) return;
        if (o.last_modified <= 0 || o.last_modified >= young_from) {
          ++rep.young_kept;
          return;
        }
        candidates.push_back(o);
      },
      kMaxBucketGcListing);
  if (longer || quarantine_longer) {
    rep.stopped = where + " lists more than " + std::to_string(kMaxBucketGcListing) +
                  " objects under blobs/ or quarantine/, more than one run looks at: garbage collection moved "
                  "nothing" + std::string(rep.quarantine_purged ? " (it purged expired quarantined blobs)" : "");
    return rep;
  }
  const auto after = referenced();
  std::erase_if(candidates, [&](const S3BlobStore::Listed& o) { return after.count(o.key) > 0; });
  if (!candidates.empty() && !gc.force && candidates.size() > gc.orphan_allowance &&
      static_cast<double>(candidates.size()) > gc.max_orphan_share * static_cast<double>(rep.blobs_listed)) {
    // As at an LMDB store's open: so many orphans at once is a catalog that
    // does not match the bucket (restored from an older backup), not garbage.
    rep.stopped = std::to_string(candidates.size()) + " of the " + std::to_string(rep.blobs_listed) + " blobs in " +
                  where + " have no catalog row, more than " +
                  std::to_string(static_cast<int>(gc.max_orphan_share * 100)) +
                  "%: garbage collection moved nothing. If the catalog is older than the blobs, restore the newer "
                  "one; if they really are garbage, run: cartridge store gc --force";
    return rep;
  }
  std::vector<std::string> keys;
  std::map<std::string, uint64_t, std::less<>> sizes;
  for (const auto& o : candidates) {
    keys.push_back(o.key);
    sizes[o.key] = o.size;
  }
  const std::vector<std::string> moved = remote_->quarantine(keys);
  if (cache_) cache_->erase(moved);
  rep.orphans_moved = moved.size();
  for (const auto& k : moved) rep.orphan_bytes += sizes[k];
  return rep;
}

std::vector<std::pair<std::string, int64_t>> Store::quarantined() const {
  return remote_ ? remote_->quarantined() : list_quarantine(*blobs_);
}

std::string Store::new_blob_id() const {
  std::random_device rd;
  uint64_t hi = (uint64_t{rd()} << 32) | rd(), lo = (uint64_t{rd()} << 32) | rd();
  return hex64(hi) + hex64(lo);
}

CorpusRow Store::create_corpus(std::string_view name, std::string_view description, std::string_view options) {
  std::lock_guard lock(write_mu_);
  return catalog_->create_corpus(name, description, options);
}

CorpusRow Store::ensure_corpus(std::string_view name) {
  std::lock_guard lock(write_mu_);
  if (auto c = catalog_->find_corpus(name)) return *c;
  return catalog_->create_corpus(name);
}

PutDocumentResult Store::put_document(std::string_view corpus_name, std::string_view name, std::string_view text) {
  if (name.empty()) throw InvalidArgument("document name is empty");
  std::lock_guard lock(write_mu_);
  const CorpusRow corpus = catalog_->corpus(corpus_name);
  const std::string hash = xxh3_128_hex(text);
  PutDocumentResult result;
  if (auto same = catalog_->find_document_by_hash(corpus.id, hash)) {
    result.document = *same;
    result.version = *catalog_->latest_version(corpus.id);
    return result;
  }
  if (catalog_->find_document(corpus.id, name))
    throw InvalidArgument("corpus '" + corpus.name + "' already has a document named '" + std::string(name) +
                          "' with different content; remove it first");
  const std::string key = doc_key(corpus.id, hash);
  TensorView view{DType::U8, {static_cast<int64_t>(text.size())}, text.data()};
  const std::string blob = encode_tensor(view, options_.codec);
  BlobRecord rec;
  rec.kind = "document";
  rec.corpus = corpus.name;
  rec.name = std::string(name);
  rec.hash = hash;
  commit_blobs({{key, blob, encode_record(rec)}});  // step 1: durable blob, with its record
  try {
    Catalog::Transaction tx(*catalog_);  // step 2: the row makes it visible
    DocumentRow row;
    row.corpus_id = corpus.id;
    row.name = std::string(name);
    row.content_hash = hash;
    row.bytes = static_cast<int64_t>(text.size());
    row.blob_key = key;
    result.document = catalog_->insert_document(row);
    result.version = catalog_->bump_corpus_version(corpus.id);
    tx.commit();
  } catch (...) {
    erase_blobs({key});  // otherwise collected at the next open
    throw;
  }
  result.added = true;
  return result;
}

void Store::read_verified(const BlobRef& ref, const std::function<void(std::string_view)>& use) {
  if (remote_) return read_through(ref, use);
  auto txn = blobs_->read();
  auto blob = txn.get(ref.blob_key);
  try {
    if (!blob) throw CorruptData("blob '" + ref.blob_key + "' of " + ref.owner_table + " row " +
                                 std::to_string(ref.owner_id) + " is missing from " + blobs_->dir().string());
    use(*blob);
  } catch (const CorruptData&) {
    if (!options_.read_only) {
      std::lock_guard lock(write_mu_);
      catalog_->mark_damaged(ref);
    }
    throw;
  }
}

void Store::read_through(const BlobRef& ref, const std::function<void(std::string_view)>& use) {
  {
    auto txn = blobs_->read();
    if (auto blob = txn.get(ref.blob_key)) {
      try {
        use(*blob);
        if (cache_) cache_->touch(ref.blob_key);
        return;
      } catch (const CorruptData&) {
        // A damaged cached copy is a miss: the bucket holds the blob.
      }
    }
  }
  if (cache_) cache_->erase({ref.blob_key});
  std::string blob;
  try {
    auto got = remote_->get_if_present(ref.blob_key);
    if (!got)
      throw CorruptData("blob '" + ref.blob_key + "' of " + ref.owner_table + " row " + std::to_string(ref.owner_id) +
                        " is missing from " + remote_->describe(ref.blob_key));
    blob = std::move(*got);
    use(blob);
  } catch (const CorruptData&) {
    if (!options_.read_only) {
      std::lock_guard lock(write_mu_);
      catalog_->mark_damaged(ref);
    }
    throw;
  }
  try {
    if (cache_) cache_->insert(ref.blob_key, blob);
  } catch (const IoError&) {
    // A full cache disk: served all the same, uncached.
  }
}

std::string Store::read_document(const DocumentRow& doc) {
  if (doc.status != RowStatus::Ready)
    throw CorruptData("document '" + doc.name + "' (blob '" + doc.blob_key + "') is marked " +
                      std::string(to_string(doc.status)) + "; re-add it");
  std::string text;
  read_verified({doc.blob_key, "documents", doc.id}, [&](std::string_view blob) {
    TensorHeader h = read_header(blob, "blob '" + doc.blob_key + "'");
    if (h.dtype != DType::U8 || h.shape.size() != 1)
      throw CorruptData("blob '" + doc.blob_key + "' is not a text (u8 vector) tensor");
    text.resize(h.uncompressed_bytes);
    decode_tensor_into(blob, text.data(), text.size(), "blob '" + doc.blob_key + "'", options_.codec.threads);
  });
  return text;
}

std::string Store::read_document(std::string_view corpus_name, std::string_view name) {
  const CorpusRow corpus = catalog_->corpus(corpus_name);
  auto doc = catalog_->find_document(corpus.id, name);
  if (!doc) throw NotFound("corpus '" + corpus.name + "' has no document named '" + std::string(name) + "'");
  return read_document(*doc);
}

CorpusVersionRow Store::remove_document(std::string_view corpus_name, std::string_view name) {
  std::lock_guard lock(write_mu_);
  const CorpusRow corpus = catalog_->corpus(corpus_name);
  auto doc = catalog_->find_document(corpus.id, name);
  if (!doc) throw NotFound("corpus '" + corpus.name + "' has no document named '" + std::string(name) + "'");
  CorpusVersionRow v;
  {
    Catalog::Transaction tx(*catalog_);
    catalog_->delete_document(doc->id);
    v = catalog_->bump_corpus_version(corpus.id);
    tx.commit();
  }
  erase_blobs({doc->blob_key});
  return v;
}

CartridgeRow Store::put_cartridge(const CartridgeRow& meta, const std::vector<NamedTensor>& tensors,
                                  const std::function<void(const CartridgeRow&)>& in_transaction) {
  std::set<std::string, std::less<>> names;
  for (const auto& t : tensors) {
    if (t.name.empty() || t.name.size() > 100) throw InvalidArgument("cartridge tensor names must be 1..100 bytes");
    if (!names.insert(t.name).second) throw InvalidArgument("duplicate cartridge tensor name '" + t.name + "'");
  }
  const std::string prefix = "cart/" + new_blob_id() + "/";
  CartridgeRow row = meta;
  row.tensors.clear();
  std::vector<std::string> blobs;
  blobs.reserve(tensors.size());
  for (const auto& t : tensors) {
    blobs.push_back(encode_tensor(t.tensor, options_.codec));
    row.tensors.push_back({t.name, prefix + t.name, std::string(dtype_name(t.tensor.dtype)), t.tensor.shape,
                           static_cast<int64_t>(blobs.back().size())});
  }
  std::lock_guard lock(write_mu_);
  BlobRecord rec;
  rec.kind = "cartridge";
  rec.corpus = corpus_name_of(*catalog_, meta.corpus_id);
  rec.corpus_version = meta.corpus_version;
  rec.model = meta.model_fingerprint;
  rec.tokens = meta.tokens;
  rec.dtype = meta.dtype;
  rec.metrics = meta.metrics;
  for (const auto& t : tensors) rec.layout.push_back(t.name);
  std::vector<BlobWrite> writes;
  std::vector<std::string> keys;
  for (size_t i = 0; i < blobs.size(); ++i) {
    rec.tensor = tensors[i].name;
    writes.push_back({row.tensors[i].blob_key, blobs[i], encode_record(rec)});
    keys.push_back(row.tensors[i].blob_key);
  }
  commit_blobs(writes);
  try {
    Catalog::Transaction tx(*catalog_);
    CartridgeRow out = catalog_->insert_cartridge(row);
    if (in_transaction) in_transaction(out);
    tx.commit();
    return out;
  } catch (...) {
    erase_blobs(keys);
    throw;
  }
}

void Store::read_cartridge_tensor_into(int64_t id, std::string_view name, void* dst, size_t dst_bytes) {
  auto c = catalog_->cartridge(id);
  if (!c) throw NotFound("no cartridge with id " + std::to_string(id));
  if (!is_servable(c->status))
    throw CorruptData("cartridge " + std::to_string(id) + " is " + std::string(to_string(c->status)) +
                      " and cannot be served");
  auto it = std::find_if(c->tensors.begin(), c->tensors.end(), [&](const auto& t) { return t.name == name; });
  if (it == c->tensors.end())
    throw NotFound("cartridge " + std::to_string(id) + " has no tensor '" + std::string(name) + "'");
  read_verified({it->blob_key, "cartridges", id}, [&](std::string_view blob) {
    decode_tensor_into(blob, dst, dst_bytes, "blob '" + it->blob_key + "'", options_.codec.threads);
  });
}

DecodedTensor Store::read_cartridge_tensor(int64_t id, std::string_view name) {
  auto c = catalog_->cartridge(id);
  if (!c) throw NotFound("no cartridge with id " + std::to_string(id));
  auto it = std::find_if(c->tensors.begin(), c->tensors.end(), [&](const auto& t) { return t.name == name; });
  if (it == c->tensors.end())
    throw NotFound("cartridge " + std::to_string(id) + " has no tensor '" + std::string(name) + "'");
  DecodedTensor out(parse_dtype(it->dtype), it->shape);
  read_cartridge_tensor_into(id, name, out.data(), out.bytes());
  return out;
}

void Store::remove_cartridge(int64_t id) {
  std::lock_guard lock(write_mu_);
  auto c = catalog_->cartridge(id);
  if (!c) throw NotFound("no cartridge with id " + std::to_string(id));
  {
    Catalog::Transaction tx(*catalog_);
    catalog_->delete_cartridge(id);
    tx.commit();
  }
  std::vector<std::string> keys;
  for (const auto& t : c->tensors) keys.push_back(t.blob_key);
  erase_blobs(keys);
}

TokenizedRow Store::put_tokens(int64_t corpus_id, int64_t corpus_version, std::string_view fp,
                               const TensorView& tokens) {
  if (tokens.dtype != DType::I32) throw InvalidArgument("token tensors must be i32");
  if (fp.empty()) throw InvalidArgument("tokenizer fingerprint is empty");
  const std::string key =
      "tok/" + std::to_string(corpus_id) + "/" + std::to_string(corpus_version) + "/" + std::string(fp);
  const std::string blob = encode_tensor(tokens, options_.codec);
  std::lock_guard lock(write_mu_);
  // Checked before the blob write: the key is derived from the row, and
  // overwriting then erasing it would destroy the existing row's blob.
  if (catalog_->find_tokenized(corpus_id, corpus_version, fp))
    throw InvalidArgument("corpus " + std::to_string(corpus_id) + " version " + std::to_string(corpus_version) +
                          " is already tokenized with '" + std::string(fp) + "'");
  BlobRecord rec;
  rec.kind = "tokens";
  rec.corpus = corpus_name_of(*catalog_, corpus_id);
  rec.corpus_version = corpus_version;
  rec.model = std::string(fp);
  commit_blobs({{key, blob, encode_record(rec)}});
  try {
    Catalog::Transaction tx(*catalog_);
    TokenizedRow row;
    row.corpus_id = corpus_id;
    row.corpus_version = corpus_version;
    row.tokenizer_fingerprint = std::string(fp);
    row.tokens = checked_numel(tokens.shape, tokens.dtype, "tokens");
    row.blob_key = key;
    row.bytes = static_cast<int64_t>(blob.size());
    TokenizedRow out = catalog_->insert_tokenized(row);
    tx.commit();
    return out;
  } catch (...) {
    erase_blobs({key});
    throw;
  }
}

DecodedTensor Store::read_tokens(const TokenizedRow& row) {
  if (row.status != RowStatus::Ready)
    throw CorruptData("token blob '" + row.blob_key + "' is marked " + std::string(to_string(row.status)));
  DecodedTensor out;
  read_verified({row.blob_key, "tokenized_corpora", row.id}, [&](std::string_view blob) {
    out = decode_tensor(blob, "blob '" + row.blob_key + "'", options_.codec.threads);
  });
  return out;
}

std::vector<ArtifactRow> Store::put_artifacts(std::string_view scope, const std::vector<NamedTensor>& tensors,
                                              std::string_view meta_json) {
  if (scope.empty() || scope.size() > 300) throw InvalidArgument("artifact scope must be 1..300 bytes");
  const std::string in_scope = " in artifact scope '" + std::string(scope) + "'";
  std::set<std::string, std::less<>> names;
  for (const auto& t : tensors) {
    if (t.name.empty() || t.name.size() > 200) throw InvalidArgument("artifact names must be 1..200 bytes" + in_scope);
    if (!names.insert(t.name).second) throw InvalidArgument("duplicate artifact name '" + t.name + "'" + in_scope);
  }
  // Checked before any blob is written: a refused put changes nothing.
  if (!nlohmann::json::accept(meta_json))
    throw InvalidArgument("artifact meta" + in_scope + " is not valid JSON: " + std::string(meta_json));
  std::vector<std::string> blobs;
  std::vector<ArtifactRow> rows;
  blobs.reserve(tensors.size());
  for (const auto& t : tensors) {
    blobs.push_back(encode_tensor(t.tensor, options_.codec));
    ArtifactRow r;
    r.scope = std::string(scope);
    r.name = t.name;
    r.dtype = std::string(dtype_name(t.tensor.dtype));
    r.shape = nlohmann::json(t.tensor.shape).dump();
    r.meta = std::string(meta_json);
    r.bytes = static_cast<int64_t>(blobs.back().size());
    rows.push_back(std::move(r));
  }
  std::lock_guard lock(write_mu_);
  // Fresh random keys: the old set's blobs stay untouched until the swap
  // has committed, so a crash before it leaves the old set readable.
  for (auto& r : rows) r.blob_key = "art/" + new_blob_id();
  BlobRecord rec;
  rec.kind = "artifact";
  rec.scope = std::string(scope);
  rec.metrics = std::string(meta_json);
  std::vector<BlobWrite> writes;
  std::vector<std::string> new_keys, old_keys;
  for (size_t i = 0; i < blobs.size(); ++i) {
    rec.name = rows[i].name;
    writes.push_back({rows[i].blob_key, blobs[i], encode_record(rec)});
    new_keys.push_back(rows[i].blob_key);
  }
  commit_blobs(writes);  // step 1: durable blobs, with their records
  std::vector<ArtifactRow> old;
  try {
    Catalog::Transaction tx(*catalog_);  // step 2: the swap, one commit
    old = catalog_->replace_artifacts(scope, rows);
    tx.commit();
  } catch (...) {
    erase_blobs(new_keys);
    throw;
  }
  // Step 3. The new set is committed whatever happens here: if erasing
  // fails, the old blobs are unreferenced and the next open collects them.
  for (const auto& r : old) old_keys.push_back(r.blob_key);
  try {
    erase_blobs(old_keys);
  } catch (const Error&) {
  }
  return catalog_->list_artifacts(scope);
}

std::vector<ArtifactRow> Store::list_artifacts(std::string_view scope) const { return catalog_->list_artifacts(scope); }

DecodedTensor Store::read_artifact(std::string_view scope, std::string_view name) {
  const std::string what = "artifact '" + std::string(name) + "' of scope '" + std::string(scope) + "'";
  auto row = catalog_->find_artifact(scope, name);
  if (!row) throw NotFound("no " + what + " in store " + dir_.string());
  if (row->status != RowStatus::Ready)
    throw CorruptData(what + " (blob '" + row->blob_key + "') is marked " + std::string(to_string(row->status)) +
                      "; put the scope again");
  const std::string label = what + " (blob '" + row->blob_key + "')";
  DecodedTensor out;
  try {
    read_verified({row->blob_key, "artifacts", row->id}, [&](std::string_view blob) {
      out = decode_tensor(blob, label, options_.codec.threads);
      if (dtype_name(out.dtype()) != row->dtype || nlohmann::json(out.shape()).dump() != row->shape)
        throw CorruptData(label + ": blob holds " + std::string(dtype_name(out.dtype())) + " " +
                          nlohmann::json(out.shape()).dump() + ", the catalog says " + row->dtype + " " + row->shape);
    });
  } catch (const CorruptData& e) {
    if (std::string_view(e.what()).find(what) != std::string_view::npos) throw;
    throw CorruptData(label + ": " + e.what());  // e.g. the blob is missing
  }
  return out;
}

size_t Store::remove_artifacts(std::string_view scope_prefix) {
  std::lock_guard lock(write_mu_);
  std::vector<ArtifactRow> gone;
  {
    Catalog::Transaction tx(*catalog_);
    gone = catalog_->delete_artifacts(scope_prefix);
    tx.commit();
  }
  std::vector<std::string> keys;
  for (const auto& r : gone) keys.push_back(r.blob_key);
  erase_blobs(keys);
  return gone.size();
}

VerifyReport Store::verify_all(bool repair) {
  VerifyReport report;
  const std::vector<BlobRef> refs = catalog_->blob_references();
  for (const BlobRef& ref : refs) {
    auto txn = blobs_->read();
    auto blob = txn.get(ref.blob_key);
    std::optional<std::string> fetched;  // with blobs on S3, what the cache lacks
    if (!blob && remote_) {
      fetched = remote_->get_if_present(ref.blob_key);
      if (fetched) blob = *fetched;
    }
    std::string reason;
    if (!blob) {
      reason = "missing";
    } else {
      report.bytes_checked += blob->size();
      try {
        verify_tensor(*blob, "blob '" + ref.blob_key + "'", options_.codec.threads);
      } catch (const CorruptData& e) {
        reason = e.what();
      } catch (const Unsupported& e) {
        reason = e.what();
      }
    }
    ++report.blobs_checked;
    if (!reason.empty()) report.damaged.push_back({ref, reason});
  }
  if (options_.read_only || (report.damaged.empty() && !repair)) return report;
  std::lock_guard lock(write_mu_);
  Catalog::Transaction tx(*catalog_);
  for (const auto& d : report.damaged) catalog_->mark_damaged(d.ref);
  if (repair) {
    // A row is whole again only when every blob it names verified (a
    // cartridge has one per tensor).
    std::set<std::pair<std::string, int64_t>> bad, owners;
    for (const auto& d : report.damaged) bad.insert({d.ref.owner_table, d.ref.owner_id});
    for (const auto& r : refs) owners.insert({r.owner_table, r.owner_id});
    for (const auto& o : owners)
      if (!bad.count(o) && catalog_->clear_damaged(o.first, o.second)) ++report.repaired_rows;
  }
  tx.commit();
  return report;
}

StoreStats Store::stats() const {
  StoreStats s;
  auto count = [&](const char* sql) {
    Statement st(catalog_->db(), sql);
    st.step();
    return static_cast<size_t>(st.int64(0));
  };
  {
    std::lock_guard lock(catalog_->mutex());
    s.corpora = count("SELECT count(*) FROM corpora");
    s.documents = count("SELECT count(*) FROM documents");
    s.cartridges = count("SELECT count(*) FROM cartridges");
    s.artifacts = count("SELECT count(*) FROM artifacts");
    s.damaged_rows = count(
        "SELECT (SELECT count(*) FROM documents WHERE status='damaged') + (SELECT count(*) FROM cartridges WHERE "
        "status='damaged') + (SELECT count(*) FROM tokenized_corpora WHERE status='damaged') + (SELECT count(*) "
        "FROM artifacts WHERE status='damaged')");
  }
  const BlobStoreStats b = blobs_->stats();
  s.blob_entries = b.entries;
  s.blob_used_bytes = b.used_bytes;
  s.blob_file_bytes = b.file_bytes;
  if (catalog_->dialect() == SqlDialect::PostgreSql) {
    std::lock_guard lock(catalog_->mutex());
    Statement st(catalog_->db(), "SELECT pg_database_size(current_database())");
    st.step();
    s.catalog_bytes = static_cast<size_t>(st.int64(0));
  }
  for (const char* f : {"catalog.sqlite", "catalog.sqlite-wal"}) {
    std::error_code ec;
    auto n = std::filesystem::file_size(dir_ / f, ec);
    if (!ec) s.catalog_bytes += n;
  }
  s.opened = opened_;
  return s;
}

}  // namespace cdb
