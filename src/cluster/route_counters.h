// RouteCounters: what a serve node counts of ASK routing, for its
// heartbeat (SHOW NODES) and /metrics: the ASKs it answers itself now (the
// load other nodes' routing bounds), and since its start the ASKs it relayed
// to a peer, the ASKs a peer relayed to it, and the ASKs it answered itself
// because the peer it chose was down, slow or refused.
//
// Thread-safe: relaxed atomics (counts for monitoring, no ordering needed).
#pragma once

#include <atomic>
#include <cstdint>

namespace cdb {

class RouteCounters {
 public:
  // Counts one ASK answered here for as long as it lives.
  class InFlight {
   public:
    explicit InFlight(RouteCounters& c) : c_(c) { c_.in_flight_.fetch_add(1, std::memory_order_relaxed); }
    ~InFlight() { c_.in_flight_.fetch_sub(1, std::memory_order_relaxed); }
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;

   private:
    RouteCounters& c_;
  };

  void forwarded() { forwarded_.fetch_add(1, std::memory_order_relaxed); }
  void received() { received_.fetch_add(1, std::memory_order_relaxed); }
  void fallback() { fallback_.fetch_add(1, std::memory_order_relaxed); }

  int64_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  int64_t forwarded_count() const { return forwarded_.load(std::memory_order_relaxed); }
  int64_t received_count() const { return received_.load(std::memory_order_relaxed); }
  int64_t fallback_count() const { return fallback_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> in_flight_{0}, forwarded_{0}, received_{0}, fallback_{0};
};

}  // namespace cdb
