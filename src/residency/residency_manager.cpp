#include "residency/residency_manager.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "common/byte_size.h"
#include "common/error.h"
#include "residency/cartridge_layout.h"
#include "residency/cartridge_loader.h"

namespace cdb {

namespace {

// One device entry. Lives in State::device while cached; leaves it when
// evicted or forgotten. A forgotten entry still in use (or still loading)
// keeps its bytes counted until its last user leaves.
struct Entry {
  std::vector<int64_t> ids;
  int64_t bytes = 0;
  bool loading = true;
  bool counted = true;  // its bytes are in State::device_bytes
  bool doomed = false;  // out of the map: free the bytes when unused
  int64_t refs = 0;
  uint64_t last_used = 0;
  std::shared_ptr<const ResidentCartridge> value;
};

// A decompressed host copy of one stored Cartridge (CUDA: pinned).
struct HostEntry {
  std::shared_ptr<const Cartridge> tensors;
  int64_t bytes = 0;
  uint64_t last_used = 0;
};

// Bytes moved over seconds spent, summed over loads.
struct Rate {
  double bytes = 0;
  double seconds = 0;
  void add(double b, double s) {
    bytes += b;
    seconds += s;
  }
  double gbps(double fallback) const { return seconds > 0 && bytes > 0 ? bytes / seconds / 1e9 : fallback; }
};

constexpr double kDefaultDiskGbps = 1.0;   // zstd-1 decode of bf16 KV, one thread, is about this
constexpr double kDefaultHostGbps = 10.0;  // a pinned host-to-device copy over PCIe is about this

std::string bytes_text(int64_t bytes) { return std::to_string(bytes) + " bytes (" + format_bytes(bytes) + ")"; }

std::string ids_text(const std::vector<int64_t>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? "+" : "") + std::to_string(ids[i]);
  return (ids.size() == 1 ? "cartridge " : "composition ") + s;
}

}  // namespace

struct ResidencyManager::State {
  State(std::shared_ptr<const CartridgeSource> s, ResidencyOptions o) : options(o.resolved()), source(std::move(s)) {
    if (!source) throw InvalidArgument("a residency manager needs a cartridge source, got none");
  }

  const ResidencyOptions options;
  const std::shared_ptr<const CartridgeSource> source;

  mutable std::mutex mu;
  std::condition_variable cv;  // an entry finished loading, was released, or room was freed
  std::map<std::vector<int64_t>, std::shared_ptr<Entry>> device;
  std::map<int64_t, HostEntry> host;
  std::set<int64_t> pinned;
  int64_t device_bytes = 0;
  int64_t host_bytes = 0;
  uint64_t clock = 0;  // LRU time: bumped on every use
  TierStats device_stats, host_stats;
  int64_t disk_loads = 0;
  Rate disk_rate, host_rate;

  bool host_tier_on() const { return options.host_budget_bytes > 0; }

  bool is_pinned(const Entry& e) const { return e.ids.size() == 1 && pinned.count(e.ids.front()) > 0; }

  int64_t pinned_bytes_locked() const {
    int64_t n = 0;
    for (const auto& [ids, e] : device)
      if (is_pinned(*e)) n += e->bytes;
    return n;
  }

  void uncount_locked(Entry& e) {
    if (!e.counted) return;
    device_bytes -= e.bytes;
    e.counted = false;
  }

  // Evicts LRU entries until `need` more bytes fit; false when what is left
  // is in use, pinned or loading.
  bool make_room_locked(int64_t need) {
    while (device_bytes + need > options.device_budget_bytes) {
      auto victim = device.end();
      for (auto it = device.begin(); it != device.end(); ++it) {
        const Entry& e = *it->second;
        if (e.loading || e.refs > 0 || is_pinned(e)) continue;
        if (victim == device.end() || e.last_used < victim->second->last_used) victim = it;
      }
      if (victim == device.end()) return false;
      uncount_locked(*victim->second);
      device.erase(victim);
      ++device_stats.evictions;
    }
    return true;
  }

  // Keeps a part read from disk in the host tier when it fits.
  void keep_on_host_locked(int64_t id, std::shared_ptr<const Cartridge> tensors, int64_t bytes) {
    if (bytes > options.host_budget_bytes || host.count(id) > 0) return;
    while (host_bytes + bytes > options.host_budget_bytes) {
      auto victim = std::min_element(host.begin(), host.end(), [](const auto& a, const auto& b) {
        return a.second.last_used < b.second.last_used;
      });
      host_bytes -= victim->second.bytes;
      host.erase(victim);
      ++host_stats.evictions;
    }
    host[id] = HostEntry{std::move(tensors), bytes, ++clock};
    host_bytes += bytes;
  }

  void release(const std::shared_ptr<Entry>& e) {
    std::lock_guard lock(mu);
    --e->refs;
    if (e->refs == 0 && e->doomed) uncount_locked(*e);
    cv.notify_all();
  }

  // A load that failed (or could not start): its reservation goes.
  void abandon_locked(const std::shared_ptr<Entry>& e) {
    if (auto it = device.find(e->ids); it != device.end() && it->second == e) device.erase(it);
    e->loading = false;
    e->doomed = true;
    uncount_locked(*e);
    cv.notify_all();
  }

  // acquire's steps that hold the mutex.
  // 2. The resident entry of `ids` (a hit), or none with room made for
  // `need` bytes: waits while another query loads the same composition, and
  // while everything evictable is in use, until `deadline`.
  std::shared_ptr<Entry> find_or_make_room_locked(std::unique_lock<std::mutex>& lock, const std::vector<int64_t>& ids,
                                                  int64_t need, std::chrono::steady_clock::time_point deadline) {
    for (;;) {
      if (auto it = device.find(ids); it != device.end()) {
        std::shared_ptr<Entry> e = it->second;
        if (!e->loading) {
          ++device_stats.hits;
          return e;
        }
        // Another query is loading it: wait for that load, then look again
        // (it is a hit, or the load failed and this one tries).
        cv.wait(lock, [&] { return !e->loading; });
        continue;
      }
      const int64_t pinned = pinned_bytes_locked();
      if (need > options.device_budget_bytes - pinned)
        throw ResourceExhausted(ids_text(ids) + " needs " + bytes_text(need) + " but the residency budget of " +
                                bytes_text(options.device_budget_bytes) + " has " + bytes_text(pinned) +
                                " pinned; unpin Cartridges or raise the budget");
      if (make_room_locked(need)) return nullptr;
      // Everything evictable is in use: wait for a release, unpin or forget.
      // After the deadline, one last look (a hit, or room) before giving up.
      if (cv.wait_until(lock, deadline) == std::cv_status::timeout && !device.count(ids) && !make_room_locked(need))
        throw ResourceExhausted(ids_text(ids) + " needs " + bytes_text(need) + " but the residency budget of " +
                                bytes_text(options.device_budget_bytes) + " stayed full of Cartridges in use for " +
                                std::to_string(options.wait_timeout.count()) +
                                " ms; release Cartridges, run fewer queries at once or raise the budget");
    }
  }

  // 3. The entry of `ids`, reserved and marked in flight.
  std::shared_ptr<Entry> reserve_locked(const std::vector<int64_t>& ids, int64_t need) {
    auto entry = std::make_shared<Entry>();
    entry->ids = ids;
    entry->bytes = need;
    entry->last_used = ++clock;
    device.emplace(ids, entry);
    device_bytes += need;
    ++device_stats.misses;
    return entry;
  }

  // 4. Where each part is read from: a part of a composition already on the
  // device, a host copy, or (neither set) the Store. The refs and host
  // copies that the sources point into are kept in *parts and *hosts.
  static std::vector<LoadSource> sources_locked(const std::shared_ptr<State>& self,
                                                const std::vector<CartridgeRow>& rows, std::vector<CartridgeRef>* parts,
                                                std::vector<std::shared_ptr<const Cartridge>>* hosts) {
    State& s = *self;
    std::vector<LoadSource> sources;
    for (const CartridgeRow& row : rows) {
      LoadSource src;
      src.row = &row;
      if (rows.size() > 1) {
        auto it = s.device.find({row.id});
        if (it != s.device.end() && !it->second->loading) {
          parts->push_back(make_ref_locked(self, it->second));
          src.device = &parts->back()->cartridge();
        }
      }
      if (src.device == nullptr && s.host_tier_on()) {
        if (auto h = s.host.find(row.id); h != s.host.end()) {
          h->second.last_used = ++s.clock;
          hosts->push_back(h->second.tensors);
          src.host = hosts->back().get();
          ++s.host_stats.hits;
        } else {
          ++s.host_stats.misses;
        }
      }
      sources.push_back(src);
    }
    return sources;
  }

  // 6. The loaded value published in its entry, and a ref to it made under
  // the same lock (so that no eviction comes between); the load's rate
  // measured, and the parts read from disk kept in the host tier.
  static CartridgeRef publish(const std::shared_ptr<State>& self, const std::shared_ptr<Entry>& entry,
                              const std::vector<int64_t>& ids, LoadedCartridge loaded,
                              const std::vector<CartridgeRow>& rows, const std::vector<LoadSource>& sources,
                              const CartridgeLayout& layout) {
    State& s = *self;
    auto value = std::make_shared<const ResidentCartridge>(ids, std::move(loaded.cartridge));
    std::lock_guard lock(s.mu);
    entry->value = std::move(value);
    entry->loading = false;
    if (loaded.disk_bytes > 0) s.disk_rate.add(static_cast<double>(loaded.disk_bytes), loaded.seconds);
    else if (loaded.host_bytes > 0) s.host_rate.add(static_cast<double>(loaded.host_bytes), loaded.seconds);
    for (size_t i = 0; i < rows.size(); ++i) {
      if (sources[i].device != nullptr || sources[i].host != nullptr) continue;
      ++s.disk_loads;
      // A part forgotten during the load must not come back through the host tier.
      if (loaded.from_disk[i] && !entry->doomed)
        s.keep_on_host_locked(rows[i].id, loaded.from_disk[i], layout.part_bytes(i));
    }
    s.cv.notify_all();
    return make_ref_locked(self, entry);
  }

  // What a CartridgeRef owns: the value, and the duty to release its entry
  // (unless the manager is gone).
  struct Lease {
    std::shared_ptr<const ResidentCartridge> value;
    std::shared_ptr<Entry> entry;
    std::weak_ptr<State> state;
    ~Lease() {
      if (auto s = state.lock()) s->release(entry);
    }
  };

  // Called with the mutex held. The ref must be dropped without it: its
  // release locks the mutex.
  static CartridgeRef make_ref_locked(const std::shared_ptr<State>& self, const std::shared_ptr<Entry>& e) {
    auto lease = std::make_shared<Lease>();
    lease->value = e->value;
    lease->entry = e;
    lease->state = self;
    ++e->refs;
    e->last_used = ++self->clock;
    return CartridgeRef(lease, lease->value.get());
  }
};

ResidencyManager::ResidencyManager(Store& store, ResidencyOptions options) {
  // Resolved first: the loader needs the device with its index.
  options = options.resolved();
  state_ = std::make_shared<State>(std::make_shared<CartridgeLoader>(store, options.device), options);
}

ResidencyManager::ResidencyManager(std::shared_ptr<const CartridgeSource> source, ResidencyOptions options)
    : state_(std::make_shared<State>(std::move(source), options)) {}

ResidencyManager::~ResidencyManager() = default;

const ResidencyOptions& ResidencyManager::options() const { return state_->options; }

CartridgeRef ResidencyManager::acquire(const std::vector<CartridgeRow>& rows) {
  State& s = *state_;
  // 1. What is asked: distinct ids, their layout, no more than the budget.
  std::vector<int64_t> ids;
  for (const auto& r : rows) {
    if (std::find(ids.begin(), ids.end(), r.id) != ids.end())
      throw InvalidArgument("cartridge " + std::to_string(r.id) + " appears twice in one composition");
    ids.push_back(r.id);
  }
  CartridgeLayout layout = CartridgeLayout::of(rows);  // InvalidArgument for no rows
  if (s.options.dtype) layout.resident_dtype = *s.options.dtype;
  const int64_t need = layout.resident_bytes();
  if (need > s.options.device_budget_bytes)
    throw ResourceExhausted(ids_text(ids) + " needs " + bytes_text(need) + " on " + s.options.device.str() +
                            ", more than the whole residency budget of " + bytes_text(s.options.device_budget_bytes) +
                            "; raise the budget or compose fewer Cartridges");
  const auto deadline = std::chrono::steady_clock::now() + s.options.wait_timeout;

  // Refs to device-resident parts read by the load. Declared before the lock
  // so that they are dropped after it is released.
  std::vector<CartridgeRef> parts_in_use;
  std::vector<std::shared_ptr<const Cartridge>> host_in_use;
  std::vector<LoadSource> sources;
  std::shared_ptr<Entry> entry;
  {
    std::unique_lock lock(s.mu);
    // 2. A hit, or room; 3. the reservation; 4. where its parts come from.
    if (auto hit = s.find_or_make_room_locked(lock, ids, need, deadline)) return State::make_ref_locked(state_, hit);
    entry = s.reserve_locked(ids, need);
    try {
      sources = State::sources_locked(state_, rows, &parts_in_use, &host_in_use);
    } catch (...) {
      s.abandon_locked(entry);
      throw;
    }
  }

  // 5. The load itself, without the mutex.
  LoadedCartridge loaded;
  try {
    loaded = s.source->load(layout, sources, s.host_tier_on());
    if (loaded.from_disk.size() != rows.size())
      throw Error("cartridge source returned " + std::to_string(loaded.from_disk.size()) + " host slots for " +
                  std::to_string(rows.size()) + " parts");
  } catch (...) {
    std::lock_guard lock(s.mu);
    s.abandon_locked(entry);
    throw;
  }
  return State::publish(state_, entry, ids, std::move(loaded), rows, sources, layout);
}

void ResidencyManager::pin(int64_t cartridge_id) {
  auto row = state_->source->row(cartridge_id);
  if (!row) throw NotFound("cannot pin cartridge " + std::to_string(cartridge_id) + ": no such cartridge");
  bool added;
  {
    std::lock_guard lock(state_->mu);
    added = state_->pinned.insert(cartridge_id).second;
  }
  try {
    acquire({*row});  // the ref is dropped at once: the pin keeps it resident
  } catch (...) {
    if (added) {
      std::lock_guard lock(state_->mu);
      state_->pinned.erase(cartridge_id);
      state_->cv.notify_all();
    }
    throw;
  }
}

void ResidencyManager::unpin(int64_t cartridge_id) {
  std::lock_guard lock(state_->mu);
  if (state_->pinned.erase(cartridge_id) > 0) state_->cv.notify_all();
}

std::vector<int64_t> ResidencyManager::pinned() const {
  std::lock_guard lock(state_->mu);
  return {state_->pinned.begin(), state_->pinned.end()};
}

void ResidencyManager::forget(int64_t cartridge_id) {
  State& s = *state_;
  std::vector<std::shared_ptr<Entry>> dropped;  // freed after the lock: tensors can be large
  std::lock_guard lock(s.mu);
  s.pinned.erase(cartridge_id);
  for (auto it = s.device.begin(); it != s.device.end();) {
    const auto& ids = it->first;
    if (std::find(ids.begin(), ids.end(), cartridge_id) == ids.end()) {
      ++it;
      continue;
    }
    Entry& e = *it->second;
    e.doomed = true;
    if (e.refs == 0 && !e.loading) s.uncount_locked(e);
    dropped.push_back(it->second);
    it = s.device.erase(it);
  }
  if (auto h = s.host.find(cartridge_id); h != s.host.end()) {
    s.host_bytes -= h->second.bytes;
    s.host.erase(h);
  }
  s.cv.notify_all();
}

Tier ResidencyManager::where(int64_t cartridge_id) const {
  std::lock_guard lock(state_->mu);
  if (auto it = state_->device.find({cartridge_id}); it != state_->device.end() && !it->second->loading)
    return Tier::Device;
  if (state_->host.count(cartridge_id) > 0) return Tier::Host;
  return Tier::Disk;
}

double ResidencyManager::expected_load_seconds(const CartridgeRow& row) const {
  const double bytes = static_cast<double>(CartridgeLayout::of({row}).bytes());
  switch (where(row.id)) {
    case Tier::Device: return 0;
    case Tier::Host: {
      std::lock_guard lock(state_->mu);
      return bytes / (state_->host_rate.gbps(kDefaultHostGbps) * 1e9);
    }
    case Tier::Disk: break;
  }
  std::lock_guard lock(state_->mu);
  return bytes / (state_->disk_rate.gbps(kDefaultDiskGbps) * 1e9);
}

std::vector<ResidencyManager::ResidentEntry> ResidencyManager::resident() const {
  std::vector<std::pair<uint64_t, ResidentEntry>> by_use;
  {
    std::lock_guard lock(state_->mu);
    for (const auto& [ids, e] : state_->device)
      if (!e->loading) by_use.push_back({e->last_used, ResidentEntry{ids, e->bytes}});
  }
  std::sort(by_use.begin(), by_use.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<ResidentEntry> out;
  out.reserve(by_use.size());
  for (auto& [used, entry] : by_use) out.push_back(std::move(entry));
  return out;
}

ResidencyManager::Stats ResidencyManager::stats() const {
  const State& s = *state_;
  std::lock_guard lock(s.mu);
  Stats out;
  out.device = s.device_stats;
  out.device.bytes = s.device_bytes;
  out.device.budget = s.options.device_budget_bytes;
  out.device.entries = static_cast<int64_t>(s.device.size());
  out.host = s.host_stats;
  out.host.bytes = s.host_bytes;
  out.host.budget = s.options.host_budget_bytes;
  out.host.entries = static_cast<int64_t>(s.host.size());
  out.disk_loads = s.disk_loads;
  out.load_gbps = s.disk_rate.gbps(0);
  out.pinned_bytes = s.pinned_bytes_locked();
  return out;
}

}  // namespace cdb
