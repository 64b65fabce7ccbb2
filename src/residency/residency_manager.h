// ResidencyManager: which Cartridges are on the device, under a byte budget.
//
// Tiers: Device (tensors ready for queries, within device_budget_bytes),
// Host (decompressed copies in pinned memory, CUDA only, within
// host_budget_bytes) and Disk (the Store, LMDB: always complete). A miss
// loads from the nearest tier (see CartridgeLoader); a part read from disk on
// CUDA is also kept in the host tier so that its next load is a copy only.
//
// Entries and composition. An entry is keyed by the ordered list of the
// Cartridge ids it holds. acquire() takes rows in the canonical order the
// planner chose (the order is part of the result: a composition
// concatenates along tokens, each part keeping the positions it was trained
// with, so A+B and B+A are different Cartridges and different entries). A
// composed entry holds its own concatenated tensors, built straight from the
// nearest copy of each part (never from a second device copy of the whole),
// and counts exactly those bytes; it does not keep its parts resident.
// where(id) tells about the Cartridge alone, not about compositions holding
// it.
//
// Eviction: least recently used first, among entries that are neither in
// use (a CartridgeRef alive), nor pinned, nor being loaded. Host-tier
// entries are evicted LRU as well.
//
// The budget is never exceeded, also under concurrent queries: bytes are
// reserved (under the one mutex) before a load starts and a load runs
// outside the lock behind an in-flight marker, so concurrent requests for
// the same entry load it once and the others wait for it. When everything
// evictable is in use, acquire() waits on a condition variable for a
// release, unpin or forget, up to wait_timeout, then throws
// ResourceExhausted. A request that can never fit (more than the budget
// minus pinned bytes) throws ResourceExhausted at once. A thread that holds
// refs and asks for more can wait on itself: release what you do not need.
//
// On CUDA, loads copy on a side stream and synchronize it before acquire()
// returns, so the tensors are ready on every stream. The caching allocator
// recycles them after eviction in the order of the stream current when they
// were loaded: a query that reads them on another stream must finish that
// work (e.g. read its logits back) or record_stream() before dropping its
// ref.
//
// Bookkeeping is exact for the device tier (reserved = the bytes of the
// tensors a load allocates). The host tier counts the buffers it holds; a
// load copying from a host entry evicted meanwhile keeps those buffers
// until its copy ends.
//
// Where misses come from is a CartridgeSource: the Store (CartridgeLoader)
// in a server; a source that moves no bytes in the fleet simulation
// (bench/residency_sim), which so runs this very policy.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "residency/cartridge_source.h"
#include "residency/resident_cartridge.h"
#include "residency/residency_options.h"
#include "residency/tier.h"
#include "storage/store.h"

namespace cdb {

class ResidencyManager {
 public:
  // Loads from the Store (a CartridgeLoader for options.device). The store
  // must outlive the manager (not the refs it hands out).
  ResidencyManager(Store& store, ResidencyOptions options = {});
  // Loads from `source`, which the manager keeps alive.
  ResidencyManager(std::shared_ptr<const CartridgeSource> source, ResidencyOptions options = {});
  ~ResidencyManager();
  ResidencyManager(const ResidencyManager&) = delete;
  ResidencyManager& operator=(const ResidencyManager&) = delete;

  // The Cartridge for `rows` in the order given: one row, the Cartridge
  // itself; several, their concatenation along tokens (as compose() would
  // make it), cached under the ordered id list. Hits return the cached
  // entry; misses load it, evicting LRU entries to make room, waiting while
  // everything evictable is in use.
  // Throws InvalidArgument (no rows, a repeated id, parts that do not
  // compose), CorruptData (a row not ready or malformed), ResourceExhausted
  // (larger than the budget less pinned bytes; or no room within
  // wait_timeout), and what reading the Store throws (the reservation is
  // released then).
  CartridgeRef acquire(const std::vector<CartridgeRow>& rows);

  // Keeps a Cartridge on the device until unpin() (loads it now; NotFound
  // for an unknown id). Pinned bytes count against the budget. Pins do not
  // nest: one unpin() undoes any number of pin()s. unpin() of a Cartridge
  // that is not pinned does nothing.
  void pin(int64_t cartridge_id);
  void unpin(int64_t cartridge_id);
  // The pinned Cartridge ids, ascending.
  std::vector<int64_t> pinned() const;

  // A Cartridge version was collected: drops (and unpins) it and every
  // composition containing it from both tiers. Entries in use leave the map
  // now, so no new query gets them, and free their bytes when released.
  void forget(int64_t cartridge_id);

  // Device when the Cartridge alone is loaded on the device, Host when its
  // decompressed copy is in the host tier, else Disk.
  Tier where(int64_t cartridge_id) const;

  // Seconds to bring a Cartridge to the device: 0 when it is there; else
  // its bytes over the measured rate of past loads from its tier (before the
  // first such load: 1 GB/s from disk, 10 GB/s from the host tier).
  double expected_load_seconds(const CartridgeRow& row) const;

  // SHOW CACHE. hits: acquires served by a resident entry (or by another
  // query's in-flight load of it); misses: acquires that loaded. Host hits
  // and misses count parts that a device load found, or did not find, in
  // the host tier (0 when it is off). disk_loads counts parts read from the
  // Store. load_gbps: decompressed bytes read from disk per second of the
  // loads that read them (0 before the first).
  struct TierStats {
    int64_t bytes = 0;  // held and reserved
    int64_t budget = 0;
    int64_t entries = 0;
    int64_t hits = 0;
    int64_t misses = 0;
    int64_t evictions = 0;
  };
  struct Stats {
    TierStats device;
    TierStats host;
    int64_t disk_loads = 0;
    double load_gbps = 0;
    int64_t pinned_bytes = 0;  // device bytes of pinned Cartridges
  };
  Stats stats() const;

  const ResidencyOptions& options() const;  // resolved: defaults filled in

  // SHOW NODES: the keys (ordered Cartridge ids) of the device entries that
  // are loaded, least recently used first, with their bytes.
  struct ResidentEntry {
    std::vector<int64_t> ids;
    int64_t bytes = 0;
  };
  std::vector<ResidentEntry> resident() const;

 private:
  struct State;
  // Shared with the refs handed out, which release their entry through a
  // weak pointer to it: a ref may outlive the manager.
  std::shared_ptr<State> state_;
};

}  // namespace cdb
