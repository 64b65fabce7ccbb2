#include "storage/backup.h"

#include <sqlite3.h>

#include <chrono>
#include <thread>

#include "common/error.h"
#include "storage/sqlite_db.h"
#include "storage/store.h"

namespace cdb {

namespace {

void copy_catalog(const std::filesystem::path& from, const std::filesystem::path& to) {
  SqliteDb src(from, /*read_only=*/true);
  SqliteDb dst(to, /*read_only=*/false);
  sqlite3_backup* b = sqlite3_backup_init(dst.handle(), "main", src.handle(), "main");
  if (!b) dst.fail("sqlite3_backup_init from " + from.string(), sqlite3_errcode(dst.handle()));
  int rc;
  // -1: every page in one step, so one read snapshot of the source.
  while ((rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const int finish = sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) dst.fail("sqlite3_backup_step from " + from.string(), rc);
  if (finish != SQLITE_OK) dst.fail("sqlite3_backup_finish", finish);
}

}  // namespace

BackupReport backup_store(const std::filesystem::path& dir, const std::filesystem::path& dest) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(dest, ec) && !fs::is_empty(dest, ec))
    throw InvalidArgument("backup destination " + dest.string() + " is not empty; give a new directory");
  StoreOptions ro;
  ro.read_only = true;
  ro.create_if_missing = false;
  BackupReport rep;
  for (rep.attempts = 1; rep.attempts <= 5; ++rep.attempts) {
    fs::remove_all(dest, ec);
    fs::create_directories(dest, ec);
    if (ec) throw IoError("cannot create " + dest.string() + ": " + ec.message());
    {
      Store src(dir, ro);  // runs the open checks: a damaged source is refused, not copied
      copy_catalog(dir / "catalog.sqlite", dest / "catalog.sqlite");
      src.blobs().copy_compacted(dest / "blobs");
    }
    Store copy(dest, ro);
    if (!copy.open_report().missing.empty()) continue;  // a removal ran between the two snapshots
    const auto st = copy.stats();
    rep.catalog_bytes = st.catalog_bytes;
    rep.blob_bytes = st.blob_file_bytes;
    rep.blobs = st.blob_entries;
    rep.referenced = copy.catalog().blob_references().size();
    return rep;
  }
  throw IoError("backup of " + dir.string() + ": every one of 5 copies raced a removal; retry when the store is quieter");
}

}  // namespace cdb
