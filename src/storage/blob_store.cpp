#include "storage/blob_store.h"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstdio>
#include <fstream>

#include "common/error.h"
#include "storage/lmdb_file_check.h"

namespace cdb {

namespace {

MDB_val to_val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
std::string_view from_val(const MDB_val& v) { return {static_cast<const char*>(v.mv_data), v.mv_size}; }

constexpr const char* kMetaDb = "cdb.meta";
constexpr const char* kRecordsDb = "cdb.records";
constexpr const char* kQuarantineDb = "cdb.quarantine";

// Thrown inside write() to unwind out of the caller's function on a full
// map; never escapes BlobStore.
struct MapFull {};

}  // namespace

BlobStore::BlobStore(const std::filesystem::path& dir, BlobStoreOptions options)
    : dir_(dir), read_only_(options.read_only) {
  std::error_code ec;
  if (!read_only_) std::filesystem::create_directories(dir_, ec);
  if (!std::filesystem::is_directory(dir_))
    throw IoError("blob store directory " + dir_.string() + " does not exist" +
                  (ec ? " and cannot be created: " + ec.message() : std::string()));
  // Before LMDB maps the file: a data.mdb shorter than its meta pages say
  // would raise SIGBUS on the first read past its end.
  check_lmdb_file(dir_);
  int rc = mdb_env_create(&env_);
  if (rc) fail("mdb_env_create", rc);
  auto cleanup = [&](const char* op, int code) {
    mdb_env_close(env_);
    env_ = nullptr;
    fail(op, code);
  };
  if ((rc = mdb_env_set_maxreaders(env_, options.max_readers))) cleanup("mdb_env_set_maxreaders", rc);
  if ((rc = mdb_env_set_mapsize(env_, options.initial_map_bytes))) cleanup("mdb_env_set_mapsize", rc);
  if ((rc = mdb_env_set_maxdbs(env_, 4))) cleanup("mdb_env_set_maxdbs", rc);
  // MDB_NOTLS: read transactions belong to the handle, not the thread, so a
  // reader may hand its snapshot to worker threads.
  unsigned flags = MDB_NOTLS | (read_only_ ? MDB_RDONLY : 0);
  if ((rc = mdb_env_open(env_, dir_.c_str(), flags, 0644))) cleanup("mdb_env_open", rc);
  max_key_ = static_cast<size_t>(mdb_env_get_maxkeysize(env_));
  MDB_txn* txn = nullptr;
  if ((rc = mdb_txn_begin(env_, nullptr, read_only_ ? MDB_RDONLY : 0, &txn))) cleanup("mdb_txn_begin", rc);
  if ((rc = mdb_dbi_open(txn, nullptr, 0, &dbi_))) {
    mdb_txn_abort(txn);
    cleanup("mdb_dbi_open", rc);
  }
  // The sub-databases: created by a read-write open, absent from a
  // read-only view of an environment written before they existed.
  has_subdbs_ = true;
  const unsigned create = read_only_ ? 0 : MDB_CREATE;
  for (auto [name, out] : {std::pair{kMetaDb, &meta_dbi_}, {kRecordsDb, &records_dbi_}, {kQuarantineDb, &quarantine_dbi_}}) {
    rc = mdb_dbi_open(txn, name, create, out);
    if (rc == MDB_NOTFOUND && read_only_) {
      has_subdbs_ = false;
      continue;
    }
    if (rc) {
      mdb_txn_abort(txn);
      cleanup("mdb_dbi_open", rc);
    }
  }
  if ((rc = mdb_txn_commit(txn))) cleanup("mdb_txn_commit", rc);
}

BlobStore::~BlobStore() {
  if (env_) mdb_env_close(env_);
}

bool BlobStore::is_reserved(std::string_view key) {
  return key == kMetaDb || key == kRecordsDb || key == kQuarantineDb;
}

MDB_dbi BlobStore::dbi(Space space) const {
  switch (space) {
    case Space::kBlobs: return dbi_;
    case Space::kMeta: return meta_dbi_;
    case Space::kRecords: return records_dbi_;
    case Space::kQuarantine: return quarantine_dbi_;
  }
  return dbi_;
}

// A value LMDB hands a read transaction points into the memory map. With a
// damaged page (a flipped size or offset) it can point past the end of the
// file, where touching it raises SIGBUS: checked against the file's size
// before anyone reads it. LMDB does not say where its map is, so the
// mapping of data.mdb holding the pointer is looked up in /proc/self/maps
// (once per mapping; the map moves only when it grows).
void BlobStore::check_in_file(const MDB_val& v, std::string_view key) const {
  const auto p = reinterpret_cast<uintptr_t>(v.mv_data);
  std::lock_guard lock(map_mu_);
  auto find = [&] {
    return p >= map_start_ && p < map_end_;
  };
  if (!find()) {
    map_start_ = map_end_ = 0;
    std::ifstream maps("/proc/self/maps");
    std::string line;
    const std::string file = std::filesystem::weakly_canonical(dir_ / "data.mdb").string();
    while (std::getline(maps, line)) {
      if (line.size() < file.size() || line.compare(line.size() - file.size(), file.size(), file) != 0) continue;
      uintptr_t start = 0, end = 0;
      unsigned long long offset = 0;
      if (std::sscanf(line.c_str(), "%lx-%lx %*s %llx", &start, &end, &offset) != 3) continue;
      if (p >= start && p < end) {
        map_start_ = start, map_end_ = end, map_offset_ = offset;
        break;
      }
    }
    if (!find()) return;  // not in a mapping of the file (a write transaction's dirty page)
  }
  struct stat st {};
  mdb_filehandle_t fd;
  if (mdb_env_get_fd(env_, &fd) != 0 || ::fstat(fd, &st) != 0) return;
  const uint64_t at = map_offset_ + (p - map_start_);
  if (at > static_cast<uint64_t>(st.st_size) || v.mv_size > static_cast<uint64_t>(st.st_size) - at)
    throw CorruptData("LMDB in " + dir_.string() + ": the value of key '" + std::string(key.substr(0, 200)) +
                      "' lies outside data.mdb (a damaged page); restore the store's blobs/ directory from a backup");
}

void BlobStore::fail(const char* op, int rc, std::string_view key) const {
  // LMDB reports a full disk as ENOSPC, or as EIO when a pwrite() wrote
  // only part of a page. Either way the transaction is not committed (the
  // meta page is written last), so the message only needs to say what to do.
  if (rc == ENOSPC || rc == EIO) {
    struct statvfs fs {};
    if (::statvfs(dir_.c_str(), &fs) == 0) {
      const double free_mb = static_cast<double>(fs.f_bavail) * fs.f_frsize / 1e6;
      const double need_mb = static_cast<double>(pending_bytes_) / 1e6;
      if (rc == ENOSPC || free_mb < need_mb + 1) {
        char buf[160];
        std::snprintf(buf, sizeof buf, "no space left on device: %.1f MB needed in %s (%.1f MB free)", need_mb < 0.1 ? 0.1 : need_mb,
                      dir_.string().c_str(), free_mb);
        throw IoError(std::string(buf) + "; LMDB " + op + " was rolled back, nothing of it was written; free space and retry");
      }
    }
  }
  std::string msg = "LMDB " + std::string(op) + " failed in " + dir_.string();
  if (!key.empty()) msg += " (key '" + std::string(key) + "')";
  msg += ": ";
  msg += mdb_strerror(rc);
  throw IoError(msg);
}

void BlobStore::check_key(std::string_view key) const {
  if (key.empty()) throw InvalidArgument("blob key is empty");
  if (key.size() > max_key_)
    throw InvalidArgument("blob key '" + std::string(key.substr(0, 64)) + "...' is " + std::to_string(key.size()) +
                          " bytes; LMDB in " + dir_.string() + " allows at most " + std::to_string(max_key_));
}

MDB_txn* BlobStore::begin(unsigned flags) const {
  const bool reader = flags & MDB_RDONLY;
  for (;;) {
    if (reader) {
      std::unique_lock lock(gate_mu_);
      gate_cv_.wait(lock, [&] { return !resizing_; });
      ++open_readers_;
    }
    MDB_txn* txn = nullptr;
    int rc = mdb_txn_begin(env_, nullptr, flags, &txn);
    if (rc == 0) return txn;
    if (reader) release_reader();
    if (rc != MDB_MAP_RESIZED) fail("mdb_txn_begin", rc);
    // Another process grew the map: adopt its size, then retry.
    const_cast<BlobStore*>(this)->grow(0);
  }
}

void BlobStore::release_reader() const {
  std::lock_guard lock(gate_mu_);
  if (--open_readers_ == 0) gate_cv_.notify_all();
}

BlobStore::ReadTxn BlobStore::read() const { return ReadTxn(this, begin(MDB_RDONLY)); }

// min_bytes == 0: adopt the size another process set.
void BlobStore::grow(size_t min_bytes) {
  std::unique_lock lock(gate_mu_);
  gate_cv_.wait(lock, [&] { return !resizing_; });
  resizing_ = true;
  gate_cv_.wait(lock, [&] { return open_readers_ == 0; });
  size_t target = 0;
  if (min_bytes > 0) {
    MDB_envinfo info;
    mdb_env_info(env_, &info);
    target = std::max(info.me_mapsize * 2, min_bytes);
  }
  int rc = mdb_env_set_mapsize(env_, target);
  if (rc == 0 && min_bytes > 0) ++resizes_;
  resizing_ = false;
  gate_cv_.notify_all();
  if (rc) fail("mdb_env_set_mapsize", rc);
}

BlobStore::ReadTxn::ReadTxn(ReadTxn&& other) noexcept : store_(other.store_), txn_(other.txn_) {
  other.txn_ = nullptr;
}

BlobStore::ReadTxn::~ReadTxn() {
  if (txn_) {
    mdb_txn_abort(txn_);
    store_->release_reader();
  }
}

std::optional<std::string_view> BlobStore::get(MDB_txn* txn, Space space, std::string_view key, bool in_map) const {
  if (space != Space::kBlobs && !has_subdbs_) return std::nullopt;
  check_key(key);
  if (space == Space::kBlobs && is_reserved(key)) return std::nullopt;
  MDB_val k = to_val(key), v;
  int rc = mdb_get(txn, dbi(space), &k, &v);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  if (rc) fail("mdb_get", rc, key);
  if (in_map) check_in_file(v, key);
  return from_val(v);
}

std::optional<std::string_view> BlobStore::ReadTxn::get(std::string_view key) const {
  return store_->get(txn_, Space::kBlobs, key, /*in_map=*/true);
}

std::optional<std::string_view> BlobStore::ReadTxn::get(Space space, std::string_view key) const {
  return store_->get(txn_, space, key, /*in_map=*/true);
}

std::string_view BlobStore::ReadTxn::at(std::string_view key) const {
  auto v = get(key);
  if (!v) throw NotFound("blob '" + std::string(key) + "' not found in " + store_->dir_.string());
  return *v;
}

void BlobStore::ReadTxn::for_each(std::string_view prefix,
                                  const std::function<void(std::string_view, size_t)>& fn) const {
  for_each_value(Space::kBlobs, prefix, [&](std::string_view k, std::string_view v) { fn(k, v.size()); });
}

void BlobStore::ReadTxn::for_each_value(Space space, std::string_view prefix,
                                        const std::function<void(std::string_view, std::string_view)>& fn) const {
  if (space != Space::kBlobs && !store_->has_subdbs_) return;
  MDB_cursor* cur = nullptr;
  int rc = mdb_cursor_open(txn_, store_->dbi(space), &cur);
  if (rc) store_->fail("mdb_cursor_open", rc);
  struct CursorCloser {
    MDB_cursor* c;
    ~CursorCloser() { mdb_cursor_close(c); }
  } closer{cur};
  MDB_val k = to_val(prefix), v;
  rc = prefix.empty() ? mdb_cursor_get(cur, &k, &v, MDB_FIRST) : mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
  while (rc == 0) {
    store_->check_in_file(k, "(a key)");
    std::string_view key = from_val(k);
    if (key.substr(0, prefix.size()) != prefix) break;
    store_->check_in_file(v, key);
    if (space != Space::kBlobs || !is_reserved(key)) fn(key, from_val(v));
    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
  }
  if (rc != 0 && rc != MDB_NOTFOUND) store_->fail("mdb_cursor_get", rc, prefix);
}

void BlobStore::WriteTxn::put(std::string_view key, std::string_view value) { put(Space::kBlobs, key, value); }

void BlobStore::WriteTxn::put(Space space, std::string_view key, std::string_view value) {
  store_->check_key(key);
  if (space == Space::kBlobs && is_reserved(key))
    throw InvalidArgument("blob key '" + std::string(key) + "' is reserved for a sub-database of " + store_->dir_.string());
  MDB_val k = to_val(key), v = to_val(value);
  store_->pending_bytes_ += key.size() + value.size();
  int rc = mdb_put(txn_, store_->dbi(space), &k, &v, 0);
  if (rc == MDB_MAP_FULL) throw MapFull{};
  if (rc) store_->fail("mdb_put", rc, key);
}

bool BlobStore::WriteTxn::erase(std::string_view key) {
  const bool existed = erase(Space::kBlobs, key);
  if (store_->has_subdbs_) erase(Space::kRecords, key);
  return existed;
}

bool BlobStore::WriteTxn::erase(Space space, std::string_view key) {
  store_->check_key(key);
  if (space == Space::kBlobs && is_reserved(key)) return false;
  MDB_val k = to_val(key);
  int rc = mdb_del(txn_, store_->dbi(space), &k, nullptr);
  if (rc == MDB_NOTFOUND) return false;
  if (rc == MDB_MAP_FULL) throw MapFull{};
  if (rc) store_->fail("mdb_del", rc, key);
  return true;
}

std::optional<std::string_view> BlobStore::WriteTxn::get(std::string_view key) const { return get(Space::kBlobs, key); }

std::optional<std::string_view> BlobStore::WriteTxn::get(Space space, std::string_view key) const {
  return store_->get(txn_, space, key, /*in_map=*/false);
}

void BlobStore::write(const std::function<void(WriteTxn&)>& fn) {
  if (read_only_) throw InvalidArgument("blob store " + dir_.string() + " is open read-only");
  std::lock_guard writer(writer_mu_);
  for (;;) {
    pending_bytes_ = 0;
    MDB_txn* txn = begin(0);
    bool full = false;
    try {
      WriteTxn w(this, txn);
      fn(w);
    } catch (const MapFull&) {
      full = true;
    } catch (...) {
      mdb_txn_abort(txn);
      throw;
    }
    if (full) {
      mdb_txn_abort(txn);
      grow(1);
      continue;
    }
    int rc = mdb_txn_commit(txn);  // frees txn whatever the outcome
    if (rc == MDB_MAP_FULL) {
      grow(1);
      continue;
    }
    if (rc) fail("mdb_txn_commit", rc);
    return;
  }
}

void BlobStore::put(std::string_view key, std::string_view value) {
  write([&](WriteTxn& t) { t.put(key, value); });
}

bool BlobStore::erase(std::string_view key) {
  bool existed = false;
  write([&](WriteTxn& t) { existed = t.erase(key); });
  return existed;
}

std::optional<std::string> BlobStore::get_copy(std::string_view key) const {
  auto txn = read();
  auto v = txn.get(key);
  if (!v) return std::nullopt;
  return std::string(*v);
}

std::vector<std::string> BlobStore::keys(std::string_view prefix) const {
  std::vector<std::string> out;
  auto txn = read();
  txn.for_each(prefix, [&](std::string_view k, size_t) { out.emplace_back(k); });
  return out;
}

BlobStoreStats BlobStore::stats() const {
  MDB_stat st;
  MDB_envinfo info;
  mdb_env_stat(env_, &st);
  mdb_env_info(env_, &info);
  BlobStoreStats s;
  s.entries = st.ms_entries;
  {  // the sub-database names are keys of the main database, not blobs
    auto txn = read();
    for (const char* name : {kMetaDb, kRecordsDb, kQuarantineDb}) {
      MDB_val k = to_val(name), v;
      if (s.entries > 0 && mdb_get(txn.txn_, dbi_, &k, &v) == 0) --s.entries;
    }
  }
  s.used_bytes = (info.me_last_pgno + 1) * st.ms_psize;
  s.map_bytes = info.me_mapsize;
  std::error_code ec;
  auto fsz = std::filesystem::file_size(dir_ / "data.mdb", ec);
  s.file_bytes = ec ? 0 : fsz;
  return s;
}

void BlobStore::copy_compacted(const std::filesystem::path& dest) const {
  std::error_code ec;
  std::filesystem::create_directories(dest, ec);
  if (ec) throw IoError("cannot create " + dest.string() + ": " + ec.message());
  int rc = mdb_env_copy2(env_, dest.c_str(), MDB_CP_COMPACT);
  if (rc) fail("mdb_env_copy2", rc, dest.string());
}

}  // namespace cdb
