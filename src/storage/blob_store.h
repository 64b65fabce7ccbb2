// BlobStore: the LMDB environment that holds every large value (tensor
// blobs, document texts, token tensors). One writer at a time, any number
// of concurrent readers, each seeing the snapshot its transaction began on.
//
// The memory map grows by itself: a write that hits MDB_MAP_FULL is rolled
// back, the map is enlarged (once no read transaction of this process is
// open, as LMDB requires) and the write is run again.
#pragma once

#include <lmdb.h>

#include <condition_variable>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cdb {

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
    // Returns whether the key existed.
    bool erase(std::string_view key);
    std::optional<std::string_view> get(std::string_view key) const;

   private:
    friend class BlobStore;
    WriteTxn(const BlobStore* store, MDB_txn* txn) : store_(store), txn_(txn) {}
    const BlobStore* store_;
    MDB_txn* txn_;
  };

  ReadTxn read() const;

  // Runs fn in a write transaction and commits it durably (fsync) before
  // returning. fn may run more than once (after a map resize), so it must
  // only issue puts and erases derived from state outside the transaction.
  // An exception from fn aborts the transaction and propagates.
  void write(const std::function<void(WriteTxn&)>& fn);

  // Convenience single-operation wrappers.
  void put(std::string_view key, std::string_view value);
  bool erase(std::string_view key);
  std::optional<std::string> get_copy(std::string_view key) const;
  std::vector<std::string> keys(std::string_view prefix = {}) const;

  size_t max_key_size() const { return max_key_; }
  BlobStoreStats stats() const;
  const std::filesystem::path& dir() const { return dir_; }
  // How many times the map has been grown by this handle (for tests).
  int resizes() const { return resizes_; }

 private:
  friend class ReadTxn;
  friend class WriteTxn;
  void check_key(std::string_view key) const;
  [[noreturn]] void fail(const char* op, int rc, std::string_view key = {}) const;
  MDB_txn* begin(unsigned flags) const;
  void release_reader() const;
  void grow(size_t min_bytes);

  std::filesystem::path dir_;
  bool read_only_;
  MDB_env* env_ = nullptr;
  MDB_dbi dbi_ = 0;
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
