// Garbage collection of a store whose blobs live in a bucket (a real
// s3rver on loopback): unreferenced blobs older than the grace go to the
// quarantine and are counted, younger ones, referenced ones, the identity
// and jobs' scratch stay; the quarantine is purged after its days; every
// document, Cartridge and artifact still loads afterwards, also through an
// emptied cache; of two collections at once, one runs and the other does
// nothing, in one process and across nodes sharing a PostgreSQL catalog.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "common/error.h"
#include "storage/pg_catalog_url.h"
#include "storage/s3/s3_client.h"
#include "storage/store.h"
#include "support/cartridge_meta.h"
#include "support/postgres_server.h"
#include "support/s3rver_process.h"
#include "support/temp_dir.h"

namespace cdb {
namespace {

using test::S3rverProcess;

class BucketGc : public ::testing::Test {
 protected:
  StoreOptions store_options() {
    StoreOptions o;
    o.s3_blobs.url = "s3://" + server.bucket() + "/stores/g";
    o.s3_blobs.s3 = S3rverProcess::client_options(server.endpoint());
    return o;
  }
  S3Client raw_bucket() {
    S3Options o = S3rverProcess::client_options(server.endpoint());
    o.bucket = server.bucket();
    return S3Client(o);
  }
  // What a crashed or abandoned write leaves: a blob and its record, no row.
  void leave_orphan(const std::string& key, size_t bytes) {
    S3Client b = raw_bucket();
    b.put("stores/g/blobs/" + key, std::string(bytes, 'o'));
    b.put("stores/g/records/" + key, "{}");
  }
  // A corpus with a document, a Cartridge of two tensors and an artifact.
  struct Filled {
    std::string doc_key;
    int64_t cartridge = 0;
    std::vector<std::string> keys;  // every referenced blob
  };
  Filled fill(Store& s) {
    Filled f;
    const auto corpus = s.create_corpus("c");
    f.doc_key = s.put_document("c", "a", "kept text").document.blob_key;
    const auto row = s.put_cartridge(test::cartridge_meta(corpus.id, 1, "m", "bf16", 3),
                                     {{"k0", {DType::BF16, {2, 3, 64}, k.data()}}, {"v0", {DType::BF16, {2, 3, 64}, v.data()}}});
    f.cartridge = row.id;
    const auto art = s.put_artifacts("job/1/checkpoint", {{"w", {DType::BF16, {2, 3, 64}, k.data()}}});
    f.keys = {f.doc_key, row.tensors[0].blob_key, row.tensors[1].blob_key, art[0].blob_key};
    return f;
  }
  void expect_everything_loads(Store& s, const Filled& f) {
    EXPECT_EQ(s.read_document("c", "a"), "kept text");
    const DecodedTensor t = s.read_cartridge_tensor(f.cartridge, "v0");
    EXPECT_EQ(std::memcmp(t.data(), v.data(), v.size() * 2), 0);
    EXPECT_EQ(std::memcmp(s.read_cartridge_tensor(f.cartridge, "k0").data(), k.data(), k.size() * 2), 0);
    EXPECT_EQ(std::memcmp(s.read_artifact("job/1/checkpoint", "w").data(), k.data(), k.size() * 2), 0);
  }

  std::vector<uint16_t> k = std::vector<uint16_t>(2 * 3 * 64, 7), v = std::vector<uint16_t>(2 * 3 * 64, 9);
  S3rverProcess server;
  test::TempDir tmp{"bucket-gc"};
};

TEST_F(BucketGc, MovesOldUnreferencedBlobsAndKeepsYoungOnesReferencedOnesTheIdentityAndScratch) {
  const auto dir = tmp.path() / "st";
  Filled f;
  {
    Store s(dir, store_options());
    f = fill(s);
    leave_orphan("art/old-orphan", 1000);
    s.blobs().put("art/old-orphan", std::string(1000, 'o'));  // this node's cache holds it too
    raw_bucket().put("stores/g/scratch/job/9/synth", "a running job's data");
    // Older than the 2 s grace by the time GC runs; then one within it.
    std::this_thread::sleep_for(std::chrono::milliseconds(3200));
    leave_orphan("art/young-orphan", 500);

    GcOptions gc;
    gc.grace_seconds = 2;
    const BucketGcReport r = s.collect_bucket_garbage(gc);
    EXPECT_EQ(r.stopped, "");
    EXPECT_EQ(r.blobs_listed, f.keys.size() + 2);
    EXPECT_EQ(r.orphans_moved, 1u);
    EXPECT_EQ(r.orphan_bytes, 1000u);
    EXPECT_EQ(r.young_kept, 1u);
    EXPECT_EQ(r.quarantine_purged, 0u);
    EXPECT_FALSE(s.blobs().get_copy("art/old-orphan"));  // dropped from the cache

    S3Client b = raw_bucket();
    EXPECT_FALSE(b.head("stores/g/blobs/art/old-orphan"));
    EXPECT_TRUE(b.head("stores/g/quarantine/art/old-orphan"));
    EXPECT_TRUE(b.head("stores/g/records/art/old-orphan"));  // until the purge
    EXPECT_TRUE(b.head("stores/g/blobs/art/young-orphan"));
    for (const auto& key : f.keys) EXPECT_TRUE(b.head("stores/g/blobs/" + key)) << key;
    EXPECT_TRUE(b.head("stores/g/cdb.identity"));
    EXPECT_TRUE(b.head("stores/g/scratch/job/9/synth"));
    expect_everything_loads(s, f);

    // The quarantine is purged after its days (0 here: anything moved
    // before this second), blob and record.
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    gc.quarantine_days = 0;
    gc.grace_seconds = 3600;
    const BucketGcReport p = s.collect_bucket_garbage(gc);
    EXPECT_EQ(p.quarantine_purged, 1u);
    EXPECT_EQ(p.purged_bytes, 1000u);
    EXPECT_EQ(p.orphans_moved, 0u);
    EXPECT_EQ(p.young_kept, 1u);
    EXPECT_FALSE(b.head("stores/g/quarantine/art/old-orphan"));
    EXPECT_FALSE(b.head("stores/g/records/art/old-orphan"));
    EXPECT_TRUE(b.head("stores/g/blobs/art/young-orphan"));
  }
  // Everything loads from the bucket alone, through an emptied cache.
  std::filesystem::remove_all(dir / "blobs");
  Store s(dir, store_options());
  expect_everything_loads(s, f);
}

TEST_F(BucketGc, OfTwoCollectionsAtOnceOneMovesEachOrphanOnceAndNothingElse) {
  Store s(tmp.path() / "st", store_options());
  const Filled f = fill(s);
  std::vector<std::string> orphans;
  for (int i = 0; i < 6; ++i) {
    orphans.push_back("art/orphan-" + std::to_string(i));
    leave_orphan(orphans.back(), 100);
  }
  GcOptions gc;
  gc.grace_seconds = 0;
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // LastModified has a one-second grain
  BucketGcReport a, b;
  std::thread other([&] { b = s.collect_bucket_garbage(gc); });
  a = s.collect_bucket_garbage(gc);
  other.join();
  // One ran; the other did nothing (stopped), or ran after it and found nothing.
  EXPECT_EQ(a.orphans_moved + b.orphans_moved, orphans.size());
  for (const auto* r : {&a, &b})
    if (!r->stopped.empty()) EXPECT_NE(r->stopped.find("is running in this process"), std::string::npos) << r->stopped;
  S3Client bucket = raw_bucket();
  for (const auto& o : orphans) {
    EXPECT_FALSE(bucket.head("stores/g/blobs/" + o)) << o;
    EXPECT_TRUE(bucket.head("stores/g/quarantine/" + o)) << o;
  }
  for (const auto& key : f.keys) EXPECT_TRUE(bucket.head("stores/g/blobs/" + key)) << key;
  expect_everything_loads(s, f);
}

TEST_F(BucketGc, ManyOrphansAtOnceMoveNothingWithoutForce) {
  Store s(tmp.path() / "st", store_options());
  const Filled f = fill(s);
  for (int i = 0; i < 3; ++i) leave_orphan("art/many-" + std::to_string(i), 10);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  GcOptions gc;
  gc.grace_seconds = 0;
  gc.orphan_allowance = 1;  // 3 of 7 blobs is above 10%
  const BucketGcReport r = s.collect_bucket_garbage(gc);
  EXPECT_NE(r.stopped.find("3 of the 7 blobs"), std::string::npos) << r.stopped;
  EXPECT_EQ(r.orphans_moved, 0u);
  EXPECT_TRUE(raw_bucket().head("stores/g/blobs/art/many-0"));
  gc.force = true;
  EXPECT_EQ(s.collect_bucket_garbage(gc).orphans_moved, 3u);
  expect_everything_loads(s, f);
}

TEST_F(BucketGc, AnotherNodeCollectingOnTheSharedCatalogMakesThisOneDoNothing) {
  StoreOptions o = store_options();
  o.catalog = test::PostgresServer::shared().create_database();
  Store s(tmp.path() / "st", o);
  fill(s);
  leave_orphan("art/orphan", 10);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  GcOptions gc;
  gc.grace_seconds = 0;
  {
    // Another node's collection, as its catalog session holds the lock.
    const auto pg = PgCatalogUrl(parse_pg_catalog_url(o.catalog));
    std::unique_ptr<PGconn, decltype(&PQfinish)> other(
        PQconnectdb(("host=127.0.0.1 port=" + std::to_string(pg.port) + " dbname=" + pg.dbname + " user=cdb").c_str()),
        &PQfinish);
    ASSERT_EQ(PQstatus(other.get()), CONNECTION_OK);
    PQclear(PQexec(other.get(), "SELECT pg_advisory_lock(27413438196167283)"));
    const BucketGcReport r = s.collect_bucket_garbage(gc);
    EXPECT_NE(r.stopped.find("another node sharing the catalog is collecting"), std::string::npos) << r.stopped;
    EXPECT_EQ(r.orphans_moved, 0u);
    EXPECT_TRUE(raw_bucket().head("stores/g/blobs/art/orphan"));
    // That node is done (unlocked now: a closed session's lock goes only
    // once its backend has ended).
    PQclear(PQexec(other.get(), "SELECT pg_advisory_unlock(27413438196167283)"));
  }
  const BucketGcReport r = s.collect_bucket_garbage(gc);
  EXPECT_EQ(r.orphans_moved, 1u) << r.stopped;
}

TEST(BucketGcOnLmdb, IsRefusedWithWhereItsGarbageIsCollected) {
  test::TempDir tmp("bucket-gc-lmdb");
  Store s(tmp.path() / "st");
  EXPECT_THROW(s.collect_bucket_garbage(GcOptions{}), InvalidArgument);
}

}  // namespace
}  // namespace cdb
