// ResidencyManager on CPU: hits, misses and LRU eviction, in-use and pinned
// Cartridges, budgets, composition, concurrency, forget().
#include "residency/residency_manager.h"

#include <atomic>
#include <chrono>
#include <random>
#include <string>
#include <thread>

#include "common/error.h"
#include "residency/residency_fixture.h"

namespace cdb {
namespace {

using namespace std::chrono_literals;
using test::Residency;

ResidencyOptions cpu_budget(int64_t bytes, std::chrono::milliseconds wait = 30000ms) {
  ResidencyOptions o;
  o.device_budget_bytes = bytes;
  o.wait_timeout = wait;
  return o;
}

TEST_F(Residency, HitsMissesAndLeastRecentlyUsedEviction) {
  const auto a = add(16), b = add(16), c = add(16), d = add(16);
  ResidencyManager m(*store_, cpu_budget(3 * bytes_of(16)));
  EXPECT_TRUE(test::same(m.acquire({a})->cartridge(), cartridges_[0]));
  m.acquire({b});
  m.acquire({c});
  EXPECT_EQ(m.stats().device.misses, 3);
  EXPECT_EQ(m.stats().device.bytes, 3 * bytes_of(16));

  m.acquire({a});  // a hit; LRU order now b, c, a
  EXPECT_EQ(m.stats().device.hits, 1);
  EXPECT_TRUE(test::same(m.acquire({d})->cartridge(), cartridges_[3]));  // evicts b
  EXPECT_EQ(m.where(b.id), Tier::Disk);
  EXPECT_EQ(m.where(a.id), Tier::Device);
  EXPECT_EQ(m.where(c.id), Tier::Device);
  EXPECT_EQ(m.where(d.id), Tier::Device);
  EXPECT_EQ(m.stats().device.evictions, 1);

  m.acquire({c});  // order a, d, c
  EXPECT_TRUE(test::same(m.acquire({b})->cartridge(), cartridges_[1]));  // evicts a
  EXPECT_EQ(m.where(a.id), Tier::Disk);
  EXPECT_EQ(m.where(b.id), Tier::Device);

  const auto s = m.stats();
  EXPECT_EQ(s.device.hits, 2);
  EXPECT_EQ(s.device.misses, 5);
  EXPECT_EQ(s.device.evictions, 2);
  EXPECT_EQ(s.device.entries, 3);
  EXPECT_EQ(s.device.bytes, 3 * bytes_of(16));
  EXPECT_EQ(s.device.budget, 3 * bytes_of(16));
  EXPECT_EQ(s.disk_loads, 5);
  // CPU: the device is host memory, no host tier.
  EXPECT_EQ(s.host.budget, 0);
  EXPECT_EQ(s.host.entries, 0);
  EXPECT_EQ(s.host.hits + s.host.misses, 0);
}

TEST_F(Residency, HitReturnsTheSameTensors) {
  const auto a = add(8);
  ResidencyManager m(*store_, cpu_budget(1 << 20));
  CartridgeRef first = m.acquire({a});
  CartridgeRef second = m.acquire({a});
  EXPECT_EQ(first.get(), second.get());
  EXPECT_EQ(first->ids(), std::vector<int64_t>{a.id});
  EXPECT_EQ(first->tokens(), 8);
  EXPECT_EQ(first->bytes(), bytes_of(8));
}

TEST_F(Residency, InUseIsNeverEvictedAcquireWaitsThenTimesOut) {
  const auto a = add(16), b = add(16), c = add(16);
  ResidencyManager m(*store_, cpu_budget(2 * bytes_of(16), 100ms));
  CartridgeRef ra = m.acquire({a}), rb = m.acquire({b});
  const auto start = std::chrono::steady_clock::now();
  try {
    m.acquire({c});
    FAIL() << "acquire should time out while a and b are in use";
  } catch (const ResourceExhausted& e) {
    EXPECT_NE(std::string(e.what()).find("in use"), std::string::npos) << e.what();
  }
  EXPECT_GE(std::chrono::steady_clock::now() - start, 90ms);
  EXPECT_EQ(m.where(a.id), Tier::Device);
  EXPECT_EQ(m.where(b.id), Tier::Device);
  EXPECT_EQ(m.where(c.id), Tier::Disk);
  EXPECT_EQ(m.stats().device.bytes, 2 * bytes_of(16));
  EXPECT_EQ(m.stats().device.evictions, 0);
}

TEST_F(Residency, WaitingAcquireSucceedsWhenAnotherThreadReleases) {
  const auto a = add(16), b = add(16), c = add(16);
  ResidencyManager m(*store_, cpu_budget(2 * bytes_of(16), 10000ms));
  CartridgeRef ra = m.acquire({a}), rb = m.acquire({b});
  std::atomic<bool> released{false};
  std::thread releaser([&] {
    std::this_thread::sleep_for(50ms);
    released = true;
    ra.reset();
  });
  CartridgeRef rc = m.acquire({c});
  EXPECT_TRUE(released.load());  // it could only get room from that release
  releaser.join();
  EXPECT_TRUE(test::same(rc->cartridge(), cartridges_[2]));
  EXPECT_EQ(m.where(a.id), Tier::Disk);  // the released one went
  EXPECT_EQ(m.where(b.id), Tier::Device);  // the one still in use stayed
  EXPECT_EQ(m.stats().device.evictions, 1);
}

TEST_F(Residency, PinnedStaysUntilUnpinned) {
  const auto a = add(16), b = add(16), c = add(16), d = add(16);
  ResidencyManager m(*store_, cpu_budget(2 * bytes_of(16)));
  m.pin(a.id);
  EXPECT_EQ(m.where(a.id), Tier::Device);
  EXPECT_EQ(m.stats().pinned_bytes, bytes_of(16));
  m.acquire({b});
  m.acquire({c});  // evicts b, never a
  m.acquire({d});  // evicts c
  EXPECT_EQ(m.where(a.id), Tier::Device);
  EXPECT_EQ(m.where(b.id), Tier::Disk);
  EXPECT_EQ(m.where(c.id), Tier::Disk);
  EXPECT_EQ(m.stats().device.evictions, 2);

  m.unpin(a.id);
  EXPECT_EQ(m.stats().pinned_bytes, 0);
  m.acquire({b});  // a is now the least recently used
  EXPECT_EQ(m.where(a.id), Tier::Disk);
  EXPECT_EQ(m.where(d.id), Tier::Device);
  EXPECT_THROW(m.pin(987654), NotFound);
}

TEST_F(Residency, RequestThatCannotFitPastPinnedFailsFast) {
  const auto a = add(16), b = add(16), c = add(16);
  ResidencyManager m(*store_, cpu_budget(2 * bytes_of(16), 30000ms));
  m.pin(a.id);
  m.pin(b.id);
  const auto start = std::chrono::steady_clock::now();
  try {
    m.acquire({c});
    FAIL() << "nothing can be evicted";
  } catch (const ResourceExhausted& e) {
    EXPECT_NE(std::string(e.what()).find("pinned"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);  // not the 30 s wait
  m.unpin(b.id);
  EXPECT_NO_THROW(m.acquire({c}));
  EXPECT_EQ(m.where(b.id), Tier::Disk);
  EXPECT_EQ(m.where(a.id), Tier::Device);
}

TEST_F(Residency, RequestBiggerThanTheBudgetFailsFastWithAClearMessage) {
  const auto small = add(4), big = add(64);
  ResidencyManager m(*store_, cpu_budget(bytes_of(16), 30000ms));
  CartridgeRef in_use = m.acquire({small});
  const auto start = std::chrono::steady_clock::now();
  try {
    m.acquire({big});
    FAIL() << "a Cartridge larger than the budget must be refused";
  } catch (const ResourceExhausted& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("cartridge " + std::to_string(big.id)), std::string::npos) << msg;
    EXPECT_NE(msg.find(std::to_string(bytes_of(64)) + " bytes"), std::string::npos) << msg;
    EXPECT_NE(msg.find(std::to_string(bytes_of(16)) + " bytes"), std::string::npos) << msg;
    EXPECT_NE(msg.find("budget"), std::string::npos) << msg;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_THROW(m.acquire({small, big}), ResourceExhausted);  // composition: counted whole
  EXPECT_EQ(m.stats().device.bytes, bytes_of(4));
  EXPECT_EQ(m.where(small.id), Tier::Device);
}

TEST_F(Residency, CompositionEqualsComposeOfThePartsAndIsCached) {
  const auto a = add(5), b = add(11), c = add(7);
  ResidencyManager m(*store_, cpu_budget(1 << 20));
  CartridgeRef ab = m.acquire({a, b});
  const Cartridge expect_ab = compose({&cartridges_[0], &cartridges_[1]});
  EXPECT_TRUE(test::same(ab->cartridge(), expect_ab));
  EXPECT_EQ(ab->ids(), (std::vector<int64_t>{a.id, b.id}));
  EXPECT_EQ(ab->tokens(), 16);
  EXPECT_EQ(m.stats().device.bytes, bytes_of(16));  // only the composition: parts are not kept
  EXPECT_EQ(m.where(a.id), Tier::Disk);             // where() is about a alone

  CartridgeRef again = m.acquire({a, b});
  EXPECT_EQ(again.get(), ab.get());
  EXPECT_EQ(m.stats().device.hits, 1);
  EXPECT_EQ(m.stats().device.misses, 1);

  // The order is part of the result: b+a is another entry.
  CartridgeRef ba = m.acquire({b, a});
  EXPECT_NE(ba.get(), ab.get());
  EXPECT_TRUE(test::same(ba->cartridge(), compose({&cartridges_[1], &cartridges_[0]})));

  // Parts already resident are copied from the device.
  m.acquire({c});
  const int64_t disk_loads = m.stats().disk_loads;
  CartridgeRef cab = m.acquire({c, a, b});
  EXPECT_TRUE(test::same(cab->cartridge(), compose({&cartridges_[2], &cartridges_[0], &cartridges_[1]})));
  EXPECT_EQ(m.stats().disk_loads, disk_loads + 2);  // a and b from disk, c from the device
  EXPECT_EQ(m.stats().device.bytes, bytes_of(16) * 2 + bytes_of(7) + bytes_of(23));
}

// Resident in the model's dtype: f32 Cartridges on a bf16 model are
// converted once, on load, and the budget counts the resident bytes. A part
// already resident is reused as it is.
TEST_F(Residency, CartridgesAreResidentInTheRequestedDtype) {
  const auto a = add(16), b = add(8);
  ResidencyOptions o = cpu_budget(bytes_of(16) + bytes_of(8));  // f32 bytes: room for bf16 a, b and a+b
  o.dtype = at::kBFloat16;
  ResidencyManager m(*store_, o);
  CartridgeRef ra = m.acquire({a});
  ASSERT_EQ(ra->cartridge().keys[0].scalar_type(), at::kBFloat16);
  for (size_t l = 0; l < cartridges_[0].keys.size(); ++l) {
    EXPECT_TRUE(at::equal(ra->cartridge().keys[l], cartridges_[0].keys[l].to(at::kBFloat16)));
    EXPECT_TRUE(at::equal(ra->cartridge().values[l], cartridges_[0].values[l].to(at::kBFloat16)));
  }
  EXPECT_EQ(m.stats().device.bytes, bytes_of(16) / 2);
  CartridgeRef rab = m.acquire({a, b});
  const Cartridge want = compose({&cartridges_[0], &cartridges_[1]});
  for (size_t l = 0; l < want.keys.size(); ++l)
    EXPECT_TRUE(at::equal(rab->cartridge().keys[l], want.keys[l].to(at::kBFloat16)));
  EXPECT_EQ(m.stats().device.bytes, (bytes_of(16) + bytes_of(24)) / 2);
}

TEST_F(Residency, CompositionOfSingleHeadPartsDecompressesIntoPlace) {
  // kv_heads = 1: each part's token slice is contiguous, read in place.
  const auto a = add(6, 1), b = add(9, 1);
  ResidencyManager m(*store_, cpu_budget(1 << 20));
  CartridgeRef ab = m.acquire({a, b});
  EXPECT_TRUE(test::same(ab->cartridge(), compose({&cartridges_[0], &cartridges_[1]})));
  EXPECT_EQ(ab->bytes(), bytes_of(15, 1));
}

TEST_F(Residency, RejectsMalformedRequests) {
  const auto a = add(4), b = add(4, 1);
  ResidencyManager m(*store_, cpu_budget(1 << 20));
  EXPECT_THROW(m.acquire({}), InvalidArgument);
  EXPECT_THROW(m.acquire({a, a}), InvalidArgument);
  EXPECT_THROW(m.acquire({a, b}), InvalidArgument);  // kv heads differ
  CartridgeRow damaged = a;
  damaged.status = RowStatus::Damaged;
  EXPECT_THROW(m.acquire({damaged}), CorruptData);
  CartridgeRow headless = a;
  headless.tensors.clear();
  EXPECT_THROW(m.acquire({headless}), CorruptData);
  EXPECT_EQ(m.stats().device.bytes, 0);
  EXPECT_EQ(m.stats().device.misses, 0);
}

TEST_F(Residency, AFailedLoadReleasesItsReservation) {
  const auto a = add(8);
  store_->remove_cartridge(a.id);  // the row the caller holds is stale
  ResidencyManager m(*store_, cpu_budget(1 << 20));
  EXPECT_THROW(m.acquire({a}), NotFound);
  const auto s = m.stats();
  EXPECT_EQ(s.device.bytes, 0);
  EXPECT_EQ(s.device.entries, 0);
  EXPECT_EQ(m.where(a.id), Tier::Disk);
}

TEST_F(Residency, ForgetDropsTheCartridgeAndItsCompositions) {
  const auto a = add(8), b = add(8);
  ResidencyManager m(*store_, cpu_budget(1 << 20));
  m.acquire({a});
  m.acquire({b});
  CartridgeRef ab = m.acquire({a, b});  // in use while forgotten
  m.pin(a.id);
  EXPECT_EQ(m.stats().device.bytes, 4 * bytes_of(8));

  m.forget(a.id);
  EXPECT_EQ(m.where(a.id), Tier::Disk);
  EXPECT_EQ(m.where(b.id), Tier::Device);
  EXPECT_EQ(m.stats().pinned_bytes, 0);  // forget unpins
  EXPECT_EQ(m.stats().device.entries, 1);
  // a is freed; a+b is in use and keeps its bytes until released.
  EXPECT_EQ(m.stats().device.bytes, bytes_of(8) + 2 * bytes_of(8));
  EXPECT_TRUE(test::same(ab->cartridge(), compose({&cartridges_[0], &cartridges_[1]})));
  ab.reset();
  EXPECT_EQ(m.stats().device.bytes, bytes_of(8));

  const int64_t misses = m.stats().device.misses;
  m.acquire({a});  // loaded again, not served from the forgotten entry
  EXPECT_EQ(m.stats().device.misses, misses + 1);
}

TEST_F(Residency, ExpectedLoadSecondsFromMeasuredRate) {
  const auto a = add(64), b = add(64);
  ResidencyManager m(*store_, cpu_budget(1 << 20));
  // Before any load: the default disk rate (1 GB/s).
  EXPECT_NEAR(m.expected_load_seconds(a), static_cast<double>(bytes_of(64)) / 1e9, 1e-12);
  EXPECT_EQ(m.stats().load_gbps, 0);

  m.acquire({a});
  const double gbps = m.stats().load_gbps;
  EXPECT_GT(gbps, 0);
  EXPECT_EQ(m.expected_load_seconds(a), 0);  // resident
  EXPECT_NEAR(m.expected_load_seconds(b), static_cast<double>(bytes_of(64)) / (gbps * 1e9),
              1e-9 * m.expected_load_seconds(b) + 1e-15);
  EXPECT_GT(m.expected_load_seconds(b), 0);
}

TEST_F(Residency, ConcurrentRequestsForOneCartridgeLoadItOnce) {
  const auto a = add(32);
  ResidencyManager m(*store_, cpu_budget(1 << 20));
  constexpr int kThreads = 8;
  std::atomic<int> ready{0};
  std::vector<CartridgeRef> refs(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      ++ready;
      while (ready.load() < kThreads) std::this_thread::yield();
      refs[t] = m.acquire({a});
    });
  for (auto& th : threads) th.join();
  for (const auto& r : refs) EXPECT_EQ(r.get(), refs.front().get());
  EXPECT_EQ(m.stats().device.misses, 1);
  EXPECT_EQ(m.stats().device.hits, kThreads - 1);
  EXPECT_EQ(m.stats().disk_loads, 1);
}

TEST_F(Residency, BudgetIsNeverExceededUnderConcurrentQueries) {
  std::mt19937 rng(7);
  std::vector<double> sums;
  int64_t largest = 0;
  for (int i = 0; i < 6; ++i) {
    const auto row = add(std::uniform_int_distribution<int64_t>(4, 64)(rng));
    sums.push_back(test::checksum(cartridges_.back()));
    largest = std::max(largest, bytes_of(row.tokens));
  }
  // Room for about three of the largest compositions of two: eviction and
  // waiting both happen.
  const int64_t budget = 3 * 2 * largest;
  ResidencyManager m(*store_, cpu_budget(budget, 30000ms));

  std::atomic<bool> done{false};
  std::atomic<int64_t> over_budget{0}, samples{0}, bad_checksums{0}, failures{0}, evicted_in_use{0};
  std::thread sampler([&] {
    while (!done.load()) {
      if (m.stats().device.bytes > budget) ++over_budget;
      ++samples;
      std::this_thread::yield();
    }
  });
  constexpr int kThreads = 8, kAcquires = 200;
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t)
    workers.emplace_back([&, t] {
      std::mt19937 r(100 + t);
      for (int i = 0; i < kAcquires; ++i) {
        std::vector<CartridgeRow> rows;
        double expect = 0;
        const size_t parts = std::uniform_int_distribution<size_t>(1, 2)(r);
        while (rows.size() < parts) {
          const size_t k = std::uniform_int_distribution<size_t>(0, rows_.size() - 1)(r);
          if (std::any_of(rows.begin(), rows.end(), [&](const auto& x) { return x.id == rows_[k].id; })) continue;
          rows.push_back(rows_[k]);
          expect += sums[k];
        }
        try {
          CartridgeRef ref = m.acquire(rows);
          if (test::checksum(ref->cartridge()) != expect) ++bad_checksums;
          if (m.stats().device.bytes > budget) ++over_budget;
          // In use: never evicted, however many other queries want room.
          if (rows.size() == 1 && m.where(rows[0].id) != Tier::Device) ++evicted_in_use;
        } catch (const std::exception& e) {
          ++failures;
          ADD_FAILURE() << e.what();
        }
      }
    });
  for (auto& w : workers) w.join();
  done = true;
  sampler.join();

  EXPECT_EQ(over_budget.load(), 0);
  EXPECT_EQ(bad_checksums.load(), 0);
  EXPECT_EQ(evicted_in_use.load(), 0);
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(samples.load(), 0);
  const auto s = m.stats();
  EXPECT_EQ(s.device.hits + s.device.misses, kThreads * kAcquires);
  EXPECT_GT(s.device.evictions, 0);
  EXPECT_LE(s.device.bytes, budget);
  // With every ref released, everything resident is evictable: a request
  // for the whole budget's worth of the largest still fits after eviction.
  EXPECT_NO_THROW(m.acquire({rows_[0]}));
}

TEST_F(Residency, RefsOutliveTheManager) {
  const auto a = add(8);
  CartridgeRef ref;
  {
    ResidencyManager m(*store_, cpu_budget(1 << 20));
    ref = m.acquire({a});
  }
  EXPECT_TRUE(test::same(ref->cartridge(), cartridges_[0]));
}

TEST_F(Residency, ListsLoadedEntriesLeastRecentlyUsedFirst) {
  const auto a = add(16), b = add(16);
  ResidencyManager m(*store_, cpu_budget(4 * bytes_of(16)));
  EXPECT_TRUE(m.resident().empty());
  m.acquire({a});
  m.acquire({b});
  m.acquire({a, b});
  m.acquire({a});  // a is now the most recent
  const auto r = m.resident();
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].ids, std::vector<int64_t>{b.id});
  EXPECT_EQ(r[1].ids, (std::vector<int64_t>{a.id, b.id}));
  EXPECT_EQ(r[2].ids, std::vector<int64_t>{a.id});
  EXPECT_EQ(r[1].bytes, 2 * bytes_of(16));
  EXPECT_THROW(ResidencyManager(std::shared_ptr<const CartridgeSource>{}, cpu_budget(1 << 20)), InvalidArgument);
}

TEST(ResidencyOptions, DefaultsOnCpu) {
  const ResidencyOptions o = ResidencyOptions{}.resolved();
  EXPECT_EQ(o.device_budget_bytes, default_cpu_budget_bytes());
  EXPECT_GT(o.device_budget_bytes, 0);
  EXPECT_EQ(o.host_budget_bytes, 0);  // no host tier on CPU
  ResidencyOptions with_host;
  with_host.host_budget_bytes = 1 << 20;
  EXPECT_EQ(with_host.resolved().host_budget_bytes, 0);
  ResidencyOptions negative;
  negative.device_budget_bytes = -1;
  EXPECT_THROW(negative.resolved(), InvalidArgument);
  ResidencyOptions negative_wait;
  negative_wait.wait_timeout = std::chrono::milliseconds(-5);
  EXPECT_THROW(negative_wait.resolved(), InvalidArgument);
  EXPECT_EQ(tier_name(Tier::Host), "host");
}

}  // namespace
}  // namespace cdb
