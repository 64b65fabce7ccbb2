#include "storage/blob_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "common/error.h"
#include "storage/tensor_codec.h"
#include "support/temp_dir.h"

namespace cdb {
namespace {

TEST(BlobStore, PutGetEraseAndPrefixListing) {
  test::TempDir tmp;
  BlobStore b(tmp.path() / "blobs");
  b.put("a/1", "one");
  b.put("a/2", "two");
  b.put("b/1", "three");
  EXPECT_EQ(b.get_copy("a/2"), "two");
  EXPECT_FALSE(b.get_copy("zzz"));
  EXPECT_EQ(b.keys("a/"), (std::vector<std::string>{"a/1", "a/2"}));
  EXPECT_TRUE(b.erase("a/1"));
  EXPECT_FALSE(b.erase("a/1"));
  EXPECT_EQ(b.keys(), (std::vector<std::string>{"a/2", "b/1"}));
  auto txn = b.read();
  EXPECT_THROW(txn.at("missing"), NotFound);
  EXPECT_EQ(txn.at("b/1"), "three");
}

TEST(BlobStore, OversizedAndEmptyKeysAreRejected) {
  test::TempDir tmp;
  BlobStore b(tmp.path() / "blobs");
  ASSERT_GT(b.max_key_size(), 100u);
  std::string key(b.max_key_size() + 1, 'k');
  try {
    b.put(key, "v");
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("at most " + std::to_string(b.max_key_size())), std::string::npos);
  }
  EXPECT_THROW(b.put("", "v"), InvalidArgument);
  b.put(std::string(b.max_key_size(), 'k'), "fits");
}

TEST(BlobStore, MapGrowsWhenFull) {
  test::TempDir tmp;
  BlobStoreOptions o;
  o.initial_map_bytes = 1 << 20;
  BlobStore b(tmp.path() / "blobs", o);
  std::string big(3 << 20, 'x');
  for (int i = 0; i < 8; ++i) b.put("big/" + std::to_string(i), big);  // 24 MiB into a 1 MiB map
  EXPECT_GE(b.resizes(), 2);
  EXPECT_GE(b.stats().map_bytes, size_t{24} << 20);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(b.get_copy("big/" + std::to_string(i))->size(), big.size());
}

TEST(BlobStore, DataSurvivesReopen) {
  test::TempDir tmp;
  {
    BlobStore b(tmp.path() / "blobs");
    b.put("k", "durable");
  }
  BlobStore b(tmp.path() / "blobs");
  EXPECT_EQ(b.get_copy("k"), "durable");
}

// Readers see whole write transactions: each write replaces two tensors with
// the same generation number, and a reader must never see them disagree or
// a tensor half-written, even while the map grows underneath.
TEST(BlobStore, ConcurrentReadersSeeConsistentSnapshots) {
  test::TempDir tmp;
  BlobStoreOptions o;
  o.initial_map_bytes = 256 << 10;  // forces resizes while readers run
  BlobStore b(tmp.path() / "blobs", o);
  auto tensor = [](int32_t gen, size_t n) {
    std::vector<int32_t> v(n, gen);
    CodecOptions c;
    c.threads = 1;
    c.chunk_bytes = 4096;
    return encode_tensor({DType::I32, {static_cast<int64_t>(n)}, v.data()}, c);
  };
  b.write([&](BlobStore::WriteTxn& w) {
    w.put("x", tensor(0, 1000));
    w.put("y", tensor(0, 1000));
  });
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0}, errors{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r)
    readers.emplace_back([&] {
      while (!stop) {
        auto txn = b.read();
        auto x = decode_tensor(txn.at("x"), "x", 1);
        auto y = decode_tensor(txn.at("y"), "y", 1);
        const int32_t gx = x.as<int32_t>()[0], gy = y.as<int32_t>()[0];
        bool ok = gx == gy;
        for (int64_t i = 0; i < x.numel(); ++i) ok = ok && x.as<int32_t>()[i] == gx;
        for (int64_t i = 0; i < y.numel(); ++i) ok = ok && y.as<int32_t>()[i] == gy;
        if (!ok) ++errors;
        ++reads;
      }
    });
  for (int32_t gen = 1; gen <= 150; ++gen) {
    size_t n = 1000 + static_cast<size_t>(gen) * 500;  // growing values force map growth
    auto bx = tensor(gen, n), by = tensor(gen, n);
    b.write([&](BlobStore::WriteTxn& w) {
      w.put("x", bx);
      w.put("fill/" + std::to_string(gen), std::string(8192, 'f'));
      w.put("y", by);
    });
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_GT(reads.load(), 10);
  EXPECT_GE(b.resizes(), 1);
  auto last = decode_tensor(*b.get_copy("y"), "y", 1);
  EXPECT_EQ(last.as<int32_t>()[0], 150);
}

}  // namespace
}  // namespace cdb
