// Issue 15's reproductions and the open checks that answer them: a data
// directory damaged on purpose (files emptied, cut short, swapped) is
// refused before anything in it changes, and becomes whole again when the
// right file is put back.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <span>
#include <fstream>
#include <string>

#include "common/error.h"
#include "storage/quarantine.h"
#include "storage/sqlite_db.h"
#include "storage/store.h"
#include "support/killed_child.h"
#include "support/store_keys.h"
#include "support/damaged_store.h"
#include "support/temp_dir.h"

namespace cdb {
namespace {

namespace fs = std::filesystem;

TEST(StoreOpenChecks, FilesOfTwoDifferentStoresAreRefused) {
  test::TempDir tmp;
  test::fill_documents(tmp.path() / "a");
  test::fill_documents(tmp.path() / "b");
  fs::copy_file(tmp.path() / "b" / "catalog.sqlite", tmp.path() / "a" / "catalog.sqlite",
                fs::copy_options::overwrite_existing);
  for (const char* f : {"catalog.sqlite-wal", "catalog.sqlite-shm"}) fs::remove(tmp.path() / "a" / f);
  try {
    Store s(tmp.path() / "a");
    FAIL() << "a catalog of another store was accepted";
  } catch (const CorruptData& e) {
    EXPECT_NE(std::string(e.what()).find("different data directories"), std::string::npos) << e.what();
  }
}

TEST(StoreOpenChecks, AStoreWithoutIdentityGetsOneOnlyWhenItsFilesAgree) {
  test::TempDir tmp;
  const auto dir = tmp.path() / "st";
  test::fill_documents(dir);
  // Make it look like a store written before identities.
  { BlobStore(dir / "blobs").write([](BlobStore::WriteTxn& w) { w.erase(Space::kMeta, "identity"); }); }
  {
    SqliteDb db(dir / "catalog.sqlite", false);
    db.exec("DELETE FROM store_identity");
  }
  const auto key = BlobStore(dir / "blobs", test::read_only_blobs()).keys().front();
  const auto value = *BlobStore(dir / "blobs", test::read_only_blobs()).get_copy(key);
  BlobStore(dir / "blobs").erase(key);
  EXPECT_THROW(Store{dir}, CorruptData);  // a blob the catalog names is absent: no identity given
  BlobStore(dir / "blobs").put(key, value);
  Store s(dir);
  EXPECT_TRUE(s.open_report().identity_created);
  EXPECT_EQ(read_identity(s.catalog()), read_identity(s.blobs()));
  EXPECT_TRUE(read_identity(s.catalog()).has_value());
}

TEST(StoreOpenChecks, MissingBlobsAreRefusedUntilAnExplicitRepairWhichARestoreUndoes) {
  test::TempDir tmp;
  const auto dir = tmp.path() / "st";
  test::fill_documents(dir);
  std::string key, value;
  {
    Store s(dir);
    key = s.catalog().find_document(1, "d2")->blob_key;
    value = *s.blobs().get_copy(key);
    s.blobs().erase(key);
  }
  EXPECT_THROW(Store{dir}, CorruptData);
  StoreOptions repair;
  repair.accept_missing_blobs = true;
  {
    Store s(dir, repair);
    ASSERT_EQ(s.open_report().missing.size(), 1u);
    EXPECT_EQ(s.catalog().find_document(1, "d2")->status, RowStatus::Damaged);
    EXPECT_EQ(s.read_document("c", "d0"), test::numbered_text(0));
    EXPECT_FALSE(s.verify_all(true).ok());
    s.blobs().put(key, value);  // restored from a backup
  }
  Store s(dir);
  auto rep = s.verify_all(/*repair=*/true);
  EXPECT_TRUE(rep.ok());
  EXPECT_EQ(rep.repaired_rows, 1u);
  EXPECT_EQ(s.catalog().find_document(1, "d2")->status, RowStatus::Ready);
  EXPECT_EQ(s.read_document("c", "d2"), test::numbered_text(2));
}

TEST(StoreOpenChecks, OrphansGoToQuarantineAndArePurgedAfterTheirTime) {
  test::TempDir tmp;
  const auto dir = tmp.path() / "st";
  test::fill_documents(dir);
  BlobStore(dir / "blobs").put("doc/1/00000000000000000000000000000000", "left by a crash");
  {
    Store s(dir);
    EXPECT_EQ(s.open_report().orphan_blobs_removed, 1u);
    EXPECT_EQ(test::all_blob_keys(s), test::referenced_keys(s));
    auto q = s.quarantined();
    ASSERT_EQ(q.size(), 1u);
    EXPECT_EQ(q[0].first, "doc/1/00000000000000000000000000000000");
    auto txn = s.blobs().read();
    EXPECT_EQ(split_quarantined(q[0].first, *txn.get(Space::kQuarantine, q[0].first)).second, "left by a crash");
  }
  {
    Store s(dir);  // within the week: kept
    EXPECT_EQ(s.open_report().quarantine_purged, 0u);
    EXPECT_EQ(s.quarantined().size(), 1u);
  }
  StoreOptions now;
  now.gc.quarantine_days = 0;
  ::sleep(1);
  Store s(dir, now);
  EXPECT_EQ(s.open_report().quarantine_purged, 1u);
  EXPECT_TRUE(s.quarantined().empty());
}

TEST(StoreOpenChecks, AQuarantinedBlobComesBackWhenARestoredCatalogNamesItAgain) {
  test::TempDir tmp;
  const auto dir = tmp.path() / "st";
  test::fill_documents(dir);
  fs::copy_file(dir / "catalog.sqlite", tmp.path() / "catalog.saved");
  {
    Store s(dir);  // the row goes behind the store's back: its blob is an orphan at the next open
    SqliteDb(dir / "catalog.sqlite", false).exec("DELETE FROM documents WHERE name = 'd1'");
  }
  {
    Store s(dir);
    EXPECT_EQ(s.open_report().orphan_blobs_removed, 1u);
  }
  for (const char* f : {"catalog.sqlite-wal", "catalog.sqlite-shm"}) fs::remove(dir / f);
  fs::copy_file(tmp.path() / "catalog.saved", dir / "catalog.sqlite", fs::copy_options::overwrite_existing);
  Store s(dir);
  EXPECT_EQ(s.open_report().restored_from_quarantine, 1u);
  EXPECT_TRUE(s.quarantined().empty());
  EXPECT_EQ(s.read_document("c", "d1"), test::numbered_text(1));
}

TEST(StoreOpenChecks, GarbageCollectionStopsWhenTooManyBlobsWouldBeOrphaned) {
  test::TempDir tmp;
  const auto dir = tmp.path() / "st";
  test::fill_documents(dir, 10);
  BlobStore(dir / "blobs").write([](BlobStore::WriteTxn& w) {
    w.put("doc/1/0000000000000000000000000000000a", "x");
    w.put("doc/1/0000000000000000000000000000000b", "y");
  });
  StoreOptions strict;
  strict.gc.orphan_allowance = 0;  // 2 of 12 blobs: above 10%
  {
    Store s(dir, strict);
    EXPECT_EQ(s.open_report().orphan_blobs_removed, 0u);
    EXPECT_NE(s.open_report().gc_stopped.find("2 of 12"), std::string::npos) << s.open_report().gc_stopped;
    EXPECT_EQ(s.blobs().keys().size(), 12u);
    EXPECT_TRUE(s.quarantined().empty());
  }
  strict.gc.force = true;
  Store s(dir, strict);
  EXPECT_EQ(s.open_report().orphan_blobs_removed, 2u);
  EXPECT_EQ(s.quarantined().size(), 2u);
}

TEST(StoreOpenChecks, MigrationsApplyInOrderAcrossAGapAndALateLowerNumber) {
  test::TempDir tmp;
  const auto file = tmp.path() / "c.sqlite";
  const Migration first[] = {{1, "one", "CREATE TABLE one (x)"}, {5, "five", "CREATE TABLE five (x)"}};
  {
    Catalog c(file, std::span<const Migration>(first));
    EXPECT_EQ(c.schema_version(), 5);
  }
  // Migration 4 arrives later (merged from another branch): still applied.
  const Migration later[] = {{1, "one", "CREATE TABLE one (x)"}, {4, "four", "CREATE TABLE four (x)"},
                             {5, "five", "CREATE TABLE five (x)"}};
  Catalog c(file, std::span<const Migration>(later));
  EXPECT_EQ(c.applied_migrations().size(), 3u);
  EXPECT_EQ(c.schema_version(), 5);
}

}  // namespace
}  // namespace cdb
