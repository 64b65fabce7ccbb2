// cartridge store backup and recover, on real directories: a backup taken
// while another process writes is a store that opens and verifies; a lost
// catalog is rebuilt from the blobs' records, and from keys alone for blobs
// written before records.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "common/error.h"
#include "storage/backup.h"
#include "storage/recover.h"
#include "storage/store.h"
#include "support/cartridge_meta.h"
#include "support/killed_child.h"
#include "support/store_keys.h"
#include "support/temp_dir.h"

namespace cdb {
namespace {

namespace fs = std::filesystem;

std::string doc_text(int i) { return "document " + std::to_string(i) + " " + std::string(2000 + i, 'a' + i % 26); }

// A corpus with documents, a Cartridge, a token tensor and an artifact scope.
void fill_everything(const fs::path& dir, std::vector<uint16_t>& kv) {
  Store s(dir);
  auto c = s.create_corpus("books");
  for (int i = 0; i < 4; ++i) s.put_document("books", "d" + std::to_string(i), doc_text(i));
  kv.assign(2 * 3 * 8, 0);
  for (size_t i = 0; i < kv.size(); ++i) kv[i] = static_cast<uint16_t>(i * 11);
  s.put_cartridge(test::cartridge_meta(c.id, 4, "tiny-model", "bf16", 3), {{"k0", {DType::BF16, {2, 3, 8}, kv.data()}}, {"v0", {DType::BF16, {2, 3, 8}, kv.data()}}});
  std::vector<int32_t> toks{5, 6, 7, 8};
  s.put_tokens(c.id, 4, "spm:abc", {DType::I32, {4}, toks.data()});
  s.put_artifacts("job/1/checkpoint", {{"w", {DType::I32, {4}, toks.data()}}}, R"({"step": 9})");
}

TEST(BackupRecover, ABackupTakenWhileAnotherProcessWritesOpensAndVerifies) {
  test::TempDir tmp;
  const auto dir = tmp.path() / "live";
  { Store(dir).create_corpus("c"); }
  auto writer = test::KilledChild::fork_running([&](const test::ChildReporter& out) {
    Store s(dir);  // holds the write lock for the whole backup
    out.report(-1);
    for (int i = 0; i < 100000; ++i) {
      s.put_document("c", "w" + std::to_string(i), doc_text(i));
      out.report(i);
    }
  });
  ASSERT_EQ(writer.wait_reports(1), std::vector<int64_t>{-1});
  const auto before = writer.wait_reports(20);
  ASSERT_EQ(before.size(), 20u);
  EXPECT_THROW(Store{dir}, IoError);  // the writer really holds it
  const auto rep = backup_store(dir, tmp.path() / "copy");
  writer.kill_and_reap();
  EXPECT_GE(rep.referenced, 20u);
  Store b(tmp.path() / "copy");
  EXPECT_TRUE(b.open_report().missing.empty());
  EXPECT_TRUE(b.verify_all().ok());
  for (int64_t i : before) EXPECT_EQ(b.read_document("c", "w" + std::to_string(i)), doc_text(static_cast<int>(i)));
  EXPECT_EQ(read_identity(b.catalog()), read_identity(b.blobs()));
  EXPECT_THROW(backup_store(dir, tmp.path() / "copy"), InvalidArgument);  // never over an existing directory
}

TEST(BackupRecover, ALostCatalogIsRebuiltFromTheBlobRecords) {
  test::TempDir tmp;
  const auto dir = tmp.path() / "st";
  std::vector<uint16_t> kv;
  fill_everything(dir, kv);
  fs::remove(dir / "catalog.sqlite");
  for (const char* f : {"catalog.sqlite-wal", "catalog.sqlite-shm"}) fs::remove(dir / f);
  EXPECT_THROW(Store{dir}, CorruptData);
  const auto rep = recover_catalog(dir);
  EXPECT_TRUE(rep.unrecoverable.empty()) << rep.unrecoverable.front();
  EXPECT_EQ(rep.documents, 4u);
  EXPECT_EQ(rep.cartridges, 1u);
  EXPECT_EQ(rep.tokenized, 1u);
  EXPECT_EQ(rep.artifacts, 1u);
  EXPECT_EQ(rep.recovered_blobs, rep.blobs);
  Store s(dir);
  EXPECT_EQ(test::all_blob_keys(s), test::referenced_keys(s));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(s.read_document("books", "d" + std::to_string(i)), doc_text(i));
  auto carts = s.catalog().list_cartridges();
  ASSERT_EQ(carts.size(), 1u);
  EXPECT_EQ(carts[0].model_fingerprint, "tiny-model");
  EXPECT_EQ(carts[0].corpus_version, 4);
  auto v0 = s.read_cartridge_tensor(carts[0].id, "v0");
  EXPECT_EQ(0, std::memcmp(v0.data(), kv.data(), kv.size() * 2));
  EXPECT_TRUE(s.catalog().find_tokenized(carts[0].corpus_id, 4, "spm:abc").has_value());
  EXPECT_EQ(s.list_artifacts("job/1/checkpoint").at(0).meta, R"({"step":9})");
  EXPECT_TRUE(s.verify_all().ok());
}

TEST(BackupRecover, BlobsWrittenBeforeRecordsAreRecoveredByKeyOrListed) {
  test::TempDir tmp;
  const auto dir = tmp.path() / "st";
  std::vector<uint16_t> kv;
  fill_everything(dir, kv);
  {
    BlobStore b(dir / "blobs");
    auto keys = b.keys();
    b.write([&](BlobStore::WriteTxn& w) {
      for (const auto& k : keys) w.erase(Space::kRecords, k);
    });
  }
  fs::remove(dir / "catalog.sqlite");
  const auto rep = recover_catalog(dir);
  EXPECT_EQ(rep.documents, 4u);  // by corpus id and hash
  EXPECT_EQ(rep.from_keys.size(), 4u);
  EXPECT_EQ(rep.cartridges, 0u);
  // The two Cartridge tensors, the token tensor and the artifact, each named with its shape.
  ASSERT_EQ(rep.unrecoverable.size(), 4u);
  size_t cartridge_tensors = 0;
  for (const auto& u : rep.unrecoverable)
    cartridge_tensors += u.find("[2,3,8]") != std::string::npos && u.find("Cartridge tensor") != std::string::npos;
  EXPECT_EQ(cartridge_tensors, 2u);
  StoreOptions force;
  force.gc.force = true;
  Store s(dir, force);
  auto docs = s.catalog().list_documents(s.catalog().corpus("recovered-1").id);
  ASSERT_EQ(docs.size(), 4u);
  for (const auto& d : docs) EXPECT_EQ(s.read_document(d).substr(0, 9), "document ");
  EXPECT_EQ(s.quarantined().size(), 4u);  // what was not rebuilt is kept, not deleted
}

}  // namespace
}  // namespace cdb
