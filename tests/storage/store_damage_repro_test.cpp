// Issue 15's three reproductions, each failing on ecee827 (before the open
// checks): a data directory damaged on purpose is refused before anything
// in it changes, and is whole again once the right file is put back. Only
// API that existed then is used here, so this file builds against it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "common/error.h"
#include "storage/store.h"
#include "support/damaged_store.h"
#include "support/temp_dir.h"

namespace cdb {
namespace {

namespace fs = std::filesystem;

TEST(StoreDamageRepro, AnEmptiedCatalogIsRefusedAndNoBlobIsCollected) {
  test::TempDir tmp;
  const auto dir = tmp.path() / "st";
  test::fill_documents(dir);
  fs::copy_file(dir / "catalog.sqlite", tmp.path() / "catalog.saved");
  const auto blobs_before = BlobStore(dir / "blobs", test::read_only_blobs()).keys();
  ASSERT_EQ(blobs_before.size(), 3u);
  fs::resize_file(dir / "catalog.sqlite", 0);
  try {
    Store s(dir);
    FAIL() << "a 0-byte catalog beside a full LMDB was taken for a new store";
  } catch (const CorruptData& e) {
    EXPECT_NE(std::string(e.what()).find("cartridge store recover"), std::string::npos) << e.what();
  }
  EXPECT_EQ(BlobStore(dir / "blobs", test::read_only_blobs()).keys(), blobs_before);
  // Restoring the catalog restores the store, every document ready.
  fs::copy_file(tmp.path() / "catalog.saved", dir / "catalog.sqlite", fs::copy_options::overwrite_existing);
  Store s(dir);
  EXPECT_EQ(s.stats().damaged_rows, 0u);
  EXPECT_EQ(s.read_document("c", "d1"), test::numbered_text(1));
}

TEST(StoreDamageRepro, AnEmptiedBlobFileIsRefusedAndDamagesNothing) {
  test::TempDir tmp;
  const auto dir = tmp.path() / "st";
  test::fill_documents(dir);
  fs::copy_file(dir / "blobs" / "data.mdb", tmp.path() / "data.saved");
  fs::resize_file(dir / "blobs" / "data.mdb", 0);
  EXPECT_THROW(Store{dir}, CorruptData);
  EXPECT_EQ(fs::file_size(dir / "blobs" / "data.mdb"), 0u) << "the refused open wrote into the emptied file";
  fs::copy_file(tmp.path() / "data.saved", dir / "blobs" / "data.mdb", fs::copy_options::overwrite_existing);
  Store s(dir);
  EXPECT_EQ(s.stats().damaged_rows, 0u) << "the documents stayed damaged after the file came back";
  EXPECT_EQ(s.read_document("c", "d0"), test::numbered_text(0));
}

TEST(StoreDamageRepro, ATruncatedBlobFileIsCorruptDataNotACrash) {
  test::TempDir tmp;
  const auto dir = tmp.path() / "st";
  test::fill_documents(dir, 20);
  const auto saved = tmp.path() / "data.saved";
  fs::copy_file(dir / "blobs" / "data.mdb", saved);
  const size_t full = fs::file_size(saved);
  for (size_t size : {size_t{100}, size_t{8192}, size_t{18432}, full / 2, full - 4096}) {
    fs::copy_file(saved, dir / "blobs" / "data.mdb", fs::copy_options::overwrite_existing);
    fs::resize_file(dir / "blobs" / "data.mdb", size);
    const std::string got = test::open_in_child(dir);
    EXPECT_EQ(got.rfind("CorruptData: ", 0), 0u) << "truncated to " << size << " of " << full << ": " << got;
    EXPECT_EQ(test::open_in_child(dir, test::read_only_store()).rfind("CorruptData: ", 0), 0u) << "read-only, " << size;
  }
  fs::copy_file(saved, dir / "blobs" / "data.mdb", fs::copy_options::overwrite_existing);
  EXPECT_EQ(test::open_in_child(dir), "ok");
}

}  // namespace
}  // namespace cdb
