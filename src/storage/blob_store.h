// BlobStore: the LMDB environment that holds every large value (tensor
// blobs, document texts, token tensors). One writer at a time, any number
// of concurrent readers, each seeing the snapshot its transaction began on.
//
// The memory map grows by itself: a write that hits MDB_MAP_FULL is rolled
// back, the map is enlarged (once no read transaction of this process is
// open, as LMDB requires) and the write is run again.
//
// Besides the blobs (LMDB's main database) the environment holds three
// named sub-databases, created by the first read-write open:
//  - "cdb.meta": the store's identity (store_identity.h);
//  - "cdb.records": one small self-describing record per blob, under the
//    blob's key (what `cartridge store recover` rebuilds a catalog from);
//    erasing a blob erases its record in the same transaction;
//  - "cdb.quarantine": blobs the garbage collection found unreferenced,
//    kept for a while instead of deleted (store.h).
// LMDB keeps a named database as a key of the main database; those keys
// are never shown as blobs (keys(), for_each, stats) and cannot be written.
//
// Before LMDB maps data.mdb, its size is checked against its own meta pages
// (lmdb_file_check.h): a truncated file is CorruptData, never SIGBUS.
#pragma once

#include <lmdb.h>

#include <condition_variable>
#include <cstdint>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cdb {

// Which database of the environment an operation addresses.
enum class Space { kBlobs, kMeta, kRecords, kQuarantine };

struct BlobStoreOptions {
  size_t initial_map_bytes = size_t{1} << 30;  // address space only; the file grows as pages are used
  unsigned max_readers = 256;
  bool read_only = false;
};

struct BlobStoreStats {
  size_t entries = 0;
  size_t used_bytes = 0;  // pages in use, times the page size
  size_t map_bytes = 0;
  size_t file_bytes = 0;
};

class BlobStore {
 public:
  // Opens (creating unless read_only) the environment in directory `dir`.
  BlobStore(const std::filesystem::path& dir, BlobStoreOptions options = {});
  ~BlobStore();
  BlobStore(const BlobStore&) = delete;
  BlobStore& operator=(const BlobStore&) = delete;

  // A read-only snapshot. Values returned by get() point into the memory map
  // and stay valid until the ReadTxn is destroyed. Do not start a write on a
  // thread that holds a ReadTxn: growing the map waits for readers to close.
  class ReadTxn {
   public:
    ~ReadTxn();
    ReadTxn(ReadTxn&& other) noexcept;
    ReadTxn(const ReadTxn&) = delete;
    ReadTxn& operator=(const ReadTxn&) = delete;
    ReadTxn& operator=(ReadTxn&&) = delete;

    std::optional<std::string_view> get(std::string_view key) const;
    // As get(), NotFound naming the key when absent.
    std::string_view at(std::string_view key) const;
    // Calls fn(key, value_bytes) for each key starting with prefix, in order.
    void for_each(std::string_view prefix, const std::function<void(std::string_view key, size_t bytes)>& fn) const;
    // The same for any space, with the values.
    std::optional<std::string_view> get(Space space, std::string_view key) const;
    void for_each_value(Space space, std::string_view prefix,
                        const std::function<void(std::string_view key, std::string_view value)>& fn) const;

   private:
    friend class BlobStore;
    ReadTxn(const BlobStore* store, MDB_txn* txn) : store_(store), txn_(txn) {}
    const BlobStore* store_;
    MDB_txn* txn_;
  };

  // The one write transaction; only valid inside write().
  class WriteTxn {
   public:
    void put(std::string_view key, std::string_view value);
    // Returns whether the key existed. Erases the blob's record too.
    bool erase(std::string_view key);
    std::optional<std::string_view> get(std::string_view key) const;
    void put(Space space, std::string_view key, std::string_view value);
    // Erases only from `space` (a blob's record stays: see erase(key)).
    bool erase(Space space, std::string_view key);
    std::optional<std::string_view> get(Space space, std::string_view key) const;

   private:
    friend class BlobStore;
    WriteTxn(const BlobStore* store, MDB_txn* txn) : store_(store), txn_(txn) {}
    const BlobStore* store_;
    MDB_txn* txn_;
  };

  ReadTxn read() const;

  // Runs fn in a write transaction and commits it durably (fsync) before
  // returning. A full disk is an IoError saying "no space left on device:
  // N MB needed in DIR"; the transaction is then not committed, so nothing
  // of it is visible (LMDB writes the meta page last). fn may run more than once (after a map resize), so it must
  // only issue puts and erases derived from state outside the transaction.
  // An exception from fn aborts the transaction and propagates.
  void write(const std::function<void(WriteTxn&)>& fn);

  // Convenience single-operation wrappers.
  void put(std::string_view key, std::string_view value);
  bool erase(std::string_view key);
  std::optional<std::string> get_copy(std::string_view key) const;
  std::vector<std::string> keys(std::string_view prefix = {}) const;

  size_t max_key_size() const { return max_key_; }
  // Copies the environment, compacted, into the empty or absent directory
  // `dest` (mdb_env_copy2 with MDB_CP_COMPACT): one consistent snapshot,
  // taken beside any writer (a read transaction).
  void copy_compacted(const std::filesystem::path& dest) const;
  // Whether `key` is one of the sub-database names kept in the main database.
  static bool is_reserved(std::string_view key);
  BlobStoreStats stats() const;
  const std::filesystem::path& dir() const { return dir_; }
  // How many times the map has been grown by this handle (for tests).
  int resizes() const { return resizes_; }

 private:
  friend class ReadTxn;
  friend class WriteTxn;
  void check_key(std::string_view key) const;
  [[noreturn]] void fail(const char* op, int rc, std::string_view key = {}) const;
  MDB_dbi dbi(Space space) const;
  // The one mdb_get of both transactions. `in_map`: the value must lie in
  // the file's map, which holds for a read; a write's own puts lie in pages
  // it dirtied, outside the map.
  std::optional<std::string_view> get(MDB_txn* txn, Space space, std::string_view key, bool in_map) const;
  void check_in_file(const MDB_val& v, std::string_view key) const;
  mutable std::mutex map_mu_;  // the mapping of data.mdb last found (check_in_file)
  mutable uintptr_t map_start_ = 0, map_end_ = 0;
  mutable uint64_t map_offset_ = 0;
  mutable size_t pending_bytes_ = 0;  // bytes put by the write in progress (for disk-full messages)
  MDB_txn* begin(unsigned flags) const;
  void release_reader() const;
  void grow(size_t min_bytes);

  std::filesystem::path dir_;
  bool read_only_;
  MDB_env* env_ = nullptr;
  MDB_dbi dbi_ = 0;
  MDB_dbi meta_dbi_ = 0, records_dbi_ = 0, quarantine_dbi_ = 0;
  bool has_subdbs_ = false;  // false only for a read-only open of an environment made before them
  size_t max_key_ = 0;
  int resizes_ = 0;

  // A writer-preferring gate between read transactions and map resizes
  // (mdb_env_set_mapsize requires that no transaction of this process is
  // open). std::shared_mutex may starve the resizer under busy readers.
  mutable std::mutex gate_mu_;
  mutable std::condition_variable gate_cv_;
  mutable int open_readers_ = 0;
  mutable bool resizing_ = false;
  std::mutex writer_mu_;
};

}  // namespace cdb
