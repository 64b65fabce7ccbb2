// A Store whose blobs live in S3 (a real s3rver on loopback), the local
// LMDB its read-through cache.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <random>
#include <vector>

#include "common/error.h"
#include "storage/blob_cache.h"
#include "storage/recover.h"
#include "storage/s3/s3_blob_store.h"
#include "storage/s3/s3_client.h"
#include "storage/s3/s3_url.h"
#include "storage/store.h"
#include "support/cartridge_meta.h"
#include "support/s3rver_process.h"
#include "support/temp_dir.h"

namespace cdb {
namespace {

using test::S3rverProcess;

class StoreOnS3 : public ::testing::Test {
 protected:
  StoreOptions options(const std::string& prefix = "stores/a", size_t cache_bytes = size_t{1} << 30) {
    StoreOptions o;
    o.s3_blobs.url = "s3://" + server.bucket() + "/" + prefix;
    o.s3_blobs.s3 = S3rverProcess::client_options(server.endpoint());
    o.s3_blobs.cache_bytes = cache_bytes;
    return o;
  }
  S3Client bucket() {
    S3Options o = S3rverProcess::client_options(server.endpoint());
    o.bucket = server.bucket();
    return S3Client(o);
  }
  S3rverProcess server;
  test::TempDir tmp{"store-s3"};
};

TEST_F(StoreOnS3, PutsBlobsInTheBucketAndReadsThemBack) {
  Store s(tmp.path() / "st", options());
  const auto corpus = s.create_corpus("c");
  const auto doc = s.put_document("c", "a", "hello from the bucket").document;
  std::vector<uint16_t> k(2 * 3 * 64, 7), v(2 * 3 * 64, 9);
  const auto row = s.put_cartridge(test::cartridge_meta(corpus.id, 1, "m", "bf16", 3),
                                   {{"k0", {DType::BF16, {2, 3, 64}, k.data()}}, {"v0", {DType::BF16, {2, 3, 64}, v.data()}}});
  S3Client b = bucket();
  EXPECT_TRUE(b.head("stores/a/blobs/" + doc.blob_key));
  EXPECT_TRUE(b.head("stores/a/records/" + doc.blob_key));
  EXPECT_TRUE(b.head("stores/a/blobs/" + row.tensors[0].blob_key));
  EXPECT_TRUE(b.head("stores/a/cdb.identity"));
  EXPECT_EQ(s.read_document("c", "a"), "hello from the bucket");
  const DecodedTensor t = s.read_cartridge_tensor(row.id, "v0");
  EXPECT_EQ(std::memcmp(t.data(), v.data(), v.size() * 2), 0);
  s.remove_cartridge(row.id);
  EXPECT_FALSE(b.head("stores/a/blobs/" + row.tensors[0].blob_key));
}

TEST_F(StoreOnS3, ReadsThroughAnEmptiedCacheAndFillsIt) {
  const auto dir = tmp.path() / "st";
  {
    Store s(dir, options());
    s.create_corpus("c");
    s.put_document("c", "a", "cached text");
  }
  std::filesystem::remove_all(dir / "blobs");  // the cache is lost: nothing is
  Store s(dir, options());
  EXPECT_EQ(s.blobs().stats().entries, 0u);
  EXPECT_EQ(s.read_document("c", "a"), "cached text");
  EXPECT_EQ(s.blobs().stats().entries, 1u);
}

TEST_F(StoreOnS3, ADamagedCachedCopyIsReadAgainFromTheBucket) {
  Store s(tmp.path() / "st", options());
  s.create_corpus("c");
  const auto doc = s.put_document("c", "a", std::string(5000, 'q')).document;
  std::string v = *s.blobs().get_copy(doc.blob_key);
  v[v.size() - 10] ^= 0x20;
  s.blobs().put(doc.blob_key, v);
  EXPECT_EQ(s.read_document("c", "a"), std::string(5000, 'q'));
  EXPECT_NE(*s.blobs().get_copy(doc.blob_key), v);
}

TEST_F(StoreOnS3, ABlobMissingFromTheBucketMarksItsRowDamaged) {
  Store s(tmp.path() / "st", options("stores/a", 0));  // no cache room: every read goes to the bucket
  s.create_corpus("c");
  const auto doc = s.put_document("c", "a", "soon gone").document;
  bucket().remove("stores/a/blobs/" + doc.blob_key);
  try {
    s.read_document("c", "a");
    FAIL() << "no error";
  } catch (const CorruptData& e) {
    EXPECT_NE(std::string(e.what()).find("s3://cdb-test/stores/a/blobs/" + doc.blob_key), std::string::npos) << e.what();
  }
  EXPECT_THROW(s.read_document("c", "a"), CorruptData);  // marked damaged
}

TEST_F(StoreOnS3, TheCacheEvictsTheLeastRecentlyUsedBlobsPastItsSize) {
  Store s(tmp.path() / "st", options("stores/a", 2500));
  s.create_corpus("c");
  std::vector<std::string> keys;
  for (char ch : {'a', 'b', 'c'}) {
    // Random bytes, incompressible: a little over 1000 stored bytes each.
    std::mt19937 rng(static_cast<unsigned>(ch));
    std::string text(1000, ch);
    for (char& x : text) x = static_cast<char>(rng());
    keys.push_back(s.put_document("c", std::string(1, ch), text).document.blob_key);
    if (ch == 'b') s.read_document("c", "a");  // a is now more recent than b
  }
  auto txn = s.blobs().read();
  EXPECT_TRUE(txn.get(keys[0]));
  EXPECT_FALSE(txn.get(keys[1]));  // the least recently used
  EXPECT_TRUE(txn.get(keys[2]));
}

TEST_F(StoreOnS3, TheIdentityLivesInTheBucketAndAMismatchIsRefused) {
  {
    Store s(tmp.path() / "a", options("stores/a"));
    s.create_corpus("c");
    s.put_document("c", "a", "x");
  }
  // A new catalog on a bucket prefix that holds another store's blobs.
  try {
    Store other(tmp.path() / "b", options("stores/a"));
    FAIL() << "opened";
  } catch (const CorruptData& e) {
    EXPECT_NE(std::string(e.what()).find("the catalog is new or emptied"), std::string::npos) << e.what();
  }
  // The catalog of store a pointed at a prefix without its identity.
  try {
    Store moved(tmp.path() / "a", options("stores/elsewhere"));
    FAIL() << "opened";
  } catch (const CorruptData& e) {
    EXPECT_NE(std::string(e.what()).find("carries no identity"), std::string::npos) << e.what();
  }
  // And still opens where it belongs.
  Store s(tmp.path() / "a", options("stores/a"));
  EXPECT_EQ(s.read_document("c", "a"), "x");
}

TEST_F(StoreOnS3, ACacheOfAnotherStoreIsEmptiedAtOpen) {
  const auto dir = tmp.path() / "a";
  { Store s(dir, options("stores/a")); }
  {
    BlobStore cache(dir / "blobs");
    cache.put("doc/1/stale", "a blob of some other store");
    write_identity(cache, new_store_identity());
  }
  Store s(dir, options("stores/a"));
  EXPECT_FALSE(s.blobs().get_copy("doc/1/stale"));
}

TEST_F(StoreOnS3, ItsCacheIsNeverOpenedAsAnLmdbStore) {
  const auto dir = tmp.path() / "st";
  {
    Store s(dir, options());
    s.create_corpus("c");
    s.put_document("c", "a", "x");
  }
  try {
    Store lmdb(dir);
    FAIL() << "opened";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("--blobs s3://cdb-test/stores/a"), std::string::npos) << e.what();
  }
  EXPECT_THROW(recover_catalog(dir), InvalidArgument);
  EXPECT_TRUE(std::filesystem::exists(dir / "catalog.sqlite"));  // not moved aside
}

TEST_F(StoreOnS3, QuarantineIsABucketPrefixThatBlobsComeBackFrom) {
  S3Options o = S3rverProcess::client_options(server.endpoint());
  S3BlobStore blobs(parse_s3_url("s3://cdb-test/stores/q"), o);
  blobs.put("doc/1/a", "blob a", "{}");
  blobs.put("doc/1/b", "blob b", "{}");
  blobs.quarantine({"doc/1/a"});
  EXPECT_EQ(blobs.keys(), std::vector<std::string>{"doc/1/b"});
  const auto q = blobs.quarantined();
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q[0].first, "doc/1/a");
  EXPECT_GT(q[0].second, 1700000000);  // when it was moved (LastModified)
  EXPECT_EQ(blobs.restore({"doc/1/a", "doc/1/never"}), std::vector<std::string>{"doc/1/a"});
  EXPECT_EQ(blobs.get("doc/1/a"), "blob a");
  EXPECT_TRUE(blobs.quarantined().empty());
}

TEST(StoreOnS3Unreachable, AnUnreachableBucketFailsTheOpenClearlyAndQuickly) {
  test::TempDir tmp("store-s3-down");
  StoreOptions o;
  o.s3_blobs.url = "s3://cdb-test/x";
  o.s3_blobs.s3 = S3rverProcess::client_options("http://127.0.0.1:9");  // discard: nothing listens
  const auto t0 = std::chrono::steady_clock::now();
  try {
    Store s(tmp.path() / "st", o);
    FAIL() << "opened";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:9"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 3.0);
}

TEST(BlobCache, EvictsLeastRecentlyUsedFirstAndSkipsBlobsLargerThanItAll) {
  test::TempDir tmp("blob-cache");
  BlobStore store(tmp.path() / "cache");
  BlobCache cache(store, 30);
  cache.insert("a", std::string(10, 'a'));
  cache.insert("b", std::string(10, 'b'));
  cache.insert("c", std::string(10, 'c'));
  cache.touch("a");
  cache.insert("d", std::string(10, 'd'));  // evicts b, the least recently used
  EXPECT_TRUE(store.get_copy("a"));
  EXPECT_FALSE(store.get_copy("b"));
  EXPECT_EQ(cache.bytes(), 30u);
  EXPECT_FALSE(cache.insert("huge", std::string(31, 'h')));
  EXPECT_FALSE(store.get_copy("huge"));
  BlobCache reopened(store, 15);  // a smaller budget at open evicts down to it
  EXPECT_EQ(reopened.entries(), 1u);
}

}  // namespace
}  // namespace cdb
