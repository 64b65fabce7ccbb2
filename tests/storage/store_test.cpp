#include "storage/store.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <random>
#include <set>
#include <thread>

#include "common/error.h"
#include "support/killed_child.h"
#include "support/store_keys.h"
#include "support/temp_dir.h"

namespace cdb {
namespace {

using test::all_blob_keys;
using test::referenced_keys;

// Flips one byte inside a stored blob, behind the store's back.
void corrupt_blob(const std::filesystem::path& store_dir, const std::string& key, size_t offset) {
  BlobStore b(store_dir / "blobs");
  std::string v = *b.get_copy(key);
  v[offset % v.size()] ^= 0x20;
  b.put(key, v);
}

TEST(Store, DocumentsDedupVersionAndReadBack) {
  test::TempDir tmp;
  Store s(tmp.path() / "st");
  s.create_corpus("c");
  auto r1 = s.put_document("c", "a", "hello world");
  EXPECT_TRUE(r1.added);
  EXPECT_EQ(r1.version.version, 1);
  auto r2 = s.put_document("c", "a-copy", "hello world");  // same content
  EXPECT_FALSE(r2.added);
  EXPECT_EQ(r2.document.name, "a");
  EXPECT_EQ(r2.version.version, 1);
  EXPECT_THROW(s.put_document("c", "a", "other text"), InvalidArgument);
  EXPECT_THROW(s.put_document("nope", "a", "x"), NotFound);
  auto r3 = s.put_document("c", "b", std::string(100000, 'z'));
  EXPECT_EQ(r3.version.version, 2);
  EXPECT_EQ(s.put_document("c", "empty", "").version.version, 3);
  EXPECT_EQ(s.read_document("c", "a"), "hello world");
  EXPECT_EQ(s.read_document("c", "b"), std::string(100000, 'z'));
  EXPECT_EQ(s.read_document("c", "empty"), "");
  EXPECT_EQ(s.remove_document("c", "b").version, 4);
  EXPECT_THROW(s.read_document("c", "b"), NotFound);
  EXPECT_EQ(all_blob_keys(s), referenced_keys(s));
  auto st = s.stats();
  EXPECT_EQ(st.documents, 2u);
  EXPECT_EQ(st.blob_entries, 2u);
}

TEST(Store, CartridgeTensorsRoundTripAndCorruptionIsDetected) {
  test::TempDir tmp;
  const auto dir = tmp.path() / "st";
  int64_t id;
  std::string key;
  std::vector<uint16_t> k(2 * 3 * 64, 0), v(2 * 3 * 64, 0);
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint16_t>(i * 7), v[i] = static_cast<uint16_t>(i * 13);
  {
    Store s(dir);
    auto c = s.create_corpus("c");
    CartridgeRow meta;
    meta.corpus_id = c.id;
    meta.corpus_version = 1;
    meta.model_fingerprint = "llama-test";
    meta.tokens = 3;
    meta.dtype = "bf16";
    auto row = s.put_cartridge(meta, {{"k0", {DType::BF16, {2, 3, 64}, k.data()}},
                                      {"v0", {DType::BF16, {2, 3, 64}, v.data()}}});
    id = row.id;
    ASSERT_EQ(row.tensors.size(), 2u);
    key = row.tensors[1].blob_key;
    EXPECT_GT(row.bytes, 0);
    auto back = s.read_cartridge_tensor(id, "v0");
    EXPECT_EQ(back.shape(), (std::vector<int64_t>{2, 3, 64}));
    EXPECT_EQ(0, std::memcmp(back.data(), v.data(), v.size() * 2));
    EXPECT_THROW(s.read_cartridge_tensor(id, "nope"), NotFound);
  }
  corrupt_blob(dir, key, 200);
  {
    Store s(dir);
    // Open checks existence only; the flip is found on read.
    EXPECT_EQ(s.catalog().cartridge(id)->status, RowStatus::Ready);
    EXPECT_EQ(s.read_cartridge_tensor(id, "k0").bytes(), k.size() * 2);
    try {
      s.read_cartridge_tensor(id, "v0");
      FAIL() << "corruption not detected";
    } catch (const CorruptData& e) {
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
    EXPECT_EQ(s.catalog().cartridge(id)->status, RowStatus::Damaged);
    EXPECT_THROW(s.read_cartridge_tensor(id, "k0"), CorruptData);  // never served again
  }
}

TEST(Store, VerifyAllFindsDamageAndARepairOpenMarksMissingBlobs) {
  test::TempDir tmp;
  const auto dir = tmp.path() / "st";
  std::string k1, k2;
  {
    Store s(dir);
    s.create_corpus("c");
    k1 = s.put_document("c", "one", std::string(5000, 'a') + "1").document.blob_key;
    k2 = s.put_document("c", "two", std::string(5000, 'b') + "2").document.blob_key;
    s.put_document("c", "three", "fine");
    EXPECT_TRUE(s.verify_all().ok());
  }
  corrupt_blob(dir, k1, 100);
  {
    Store s(dir);
    auto rep = s.verify_all();
    EXPECT_EQ(rep.blobs_checked, 3u);
    ASSERT_EQ(rep.damaged.size(), 1u);
    EXPECT_EQ(rep.damaged[0].ref.blob_key, k1);
    EXPECT_EQ(s.catalog().find_document(1, "one")->status, RowStatus::Damaged);
    EXPECT_THROW(s.read_document("c", "one"), CorruptData);
    EXPECT_EQ(s.read_document("c", "three"), "fine");
  }
  BlobStore(dir / "blobs").erase(k2);  // a referenced blob vanishes
  EXPECT_THROW(Store{dir}, CorruptData);  // refused: the file is likelier at fault than the data
  StoreOptions repair;
  repair.accept_missing_blobs = true;
  Store s(dir, repair);
  ASSERT_EQ(s.open_report().missing.size(), 1u);
  EXPECT_EQ(s.open_report().missing[0].blob_key, k2);
  EXPECT_EQ(s.catalog().find_document(1, "two")->status, RowStatus::Damaged);
  EXPECT_EQ(s.stats().damaged_rows, 2u);
}

TEST(Store, OrphanBlobsAreQuarantinedAtOpen) {
  test::TempDir tmp;
  const auto dir = tmp.path() / "st";
  {
    Store s(dir);
    s.create_corpus("c");
    s.put_document("c", "kept", "kept text");
  }
  {
    BlobStore b(dir / "blobs");
    b.put("doc/1/0123456789abcdef0123456789abcdef", "orphan written before a crash");
  }
  Store s(dir);
  EXPECT_EQ(s.open_report().orphan_blobs_removed, 1u);
  EXPECT_EQ(all_blob_keys(s), referenced_keys(s));
  ASSERT_EQ(s.quarantined().size(), 1u);  // moved, not deleted
  EXPECT_EQ(s.read_document("c", "kept"), "kept text");
}

StoreOptions read_only_options() {
  StoreOptions o;
  o.read_only = true;
  return o;
}

TEST(Store, SecondWriterIsRefusedAndReadOnlyOpens) {
  test::TempDir tmp;
  const auto dir = tmp.path() / "st";
  EXPECT_THROW(Store(dir, read_only_options()), NotFound);
  Store s(dir);
  s.create_corpus("c");
  s.put_document("c", "d", "text");
  // flock is per open file description, so a second open in this process
  // conflicts just as another process would.
  EXPECT_THROW(Store{dir}, IoError);
  Store ro(dir, read_only_options());
  EXPECT_EQ(ro.read_document("c", "d"), "text");
  EXPECT_THROW(ro.put_document("c", "e", "x"), InvalidArgument);
}

TEST(Store, TokensRoundTrip) {
  test::TempDir tmp;
  Store s(tmp.path() / "st");
  auto c = s.create_corpus("c");
  std::vector<int32_t> toks(10000);
  for (size_t i = 0; i < toks.size(); ++i) toks[i] = static_cast<int32_t>(i % 3000);
  auto row = s.put_tokens(c.id, 1, "spm:abc123", {DType::I32, {10000}, toks.data()});
  auto found = s.catalog().find_tokenized(c.id, 1, "spm:abc123");
  ASSERT_TRUE(found);
  auto back = s.read_tokens(*found);
  EXPECT_EQ(0, std::memcmp(back.data(), toks.data(), toks.size() * 4));
  EXPECT_THROW(s.put_tokens(c.id, 1, "spm:abc123", {DType::I32, {1}, toks.data()}), InvalidArgument);
  EXPECT_EQ(all_blob_keys(s), referenced_keys(s));  // the failed duplicate left no blob
  EXPECT_THROW(s.put_tokens(c.id, 1, std::string(600, 'f'), {DType::I32, {1}, toks.data()}), InvalidArgument);
}

// Crash safety: a child process adds documents and reports each one whose
// put_document returned; the parent SIGKILLs it at a random moment. After
// every kill, reopening must find every reported document intact, and no
// blob without a row.
TEST(Store, SurvivesSigkillAtRandomPoints) {
  test::TempDir tmp;
  const auto dir = tmp.path() / "st";
  { Store(dir).create_corpus("c"); }
  std::mt19937 rng(12345);
  std::set<std::string> committed;
  auto text_of = [](int trial, int i) {
    return "trial " + std::to_string(trial) + " write " + std::to_string(i) + " " +
           std::string(static_cast<size_t>(100 + (i * 37) % 3000), static_cast<char>('a' + i % 26));
  };
  const int kTrials = 24;
  int killed_mid_run = 0;
  for (int trial = 0; trial < kTrials; ++trial) {
    auto child = test::KilledChild::fork_running([&](const test::ChildReporter& out) {
      Store s(dir);
      for (int i = 0; i < 200; ++i) {
        s.put_document("c", "t" + std::to_string(trial) + "-" + std::to_string(i), text_of(trial, i));
        out.report(i);
      }
    });
    // Kill somewhere between "before the store opened" and "near the end".
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 250000));
    const auto exit = child.kill_and_reap();
    if (exit.killed) ++killed_mid_run;
    else
      ASSERT_EQ(exit.status, 0) << "child failed on its own in trial " << trial;
    for (int64_t i : child.drain_reports()) committed.insert("t" + std::to_string(trial) + "-" + std::to_string(i));

    Store s(dir);
    EXPECT_EQ(all_blob_keys(s), referenced_keys(s)) << "orphan or missing blob after trial " << trial;
    auto corpus = s.catalog().corpus("c");
    auto docs = s.catalog().list_documents(corpus.id);
    std::set<std::string> present;
    for (const auto& d : docs) present.insert(d.name);
    for (const auto& name : committed) {
      ASSERT_TRUE(present.count(name)) << name << " was reported committed but is gone";
      const auto dash = name.find('-');
      const int t = std::stoi(name.substr(1, dash - 1)), i = std::stoi(name.substr(dash + 1));
      EXPECT_EQ(s.read_document("c", name), text_of(t, i));
    }
    // Versions stay consistent with the documents.
    auto v = s.catalog().latest_version(corpus.id);
    if (v) {
      EXPECT_EQ(v->documents, static_cast<int64_t>(docs.size()));
    }
  }
  EXPECT_GE(killed_mid_run, kTrials / 2);
  EXPECT_GT(committed.size(), 0u);
}

}  // namespace
}  // namespace cdb
