#include "db/node_heartbeat.h"

#include <cstdio>

#include "cluster/route_counters.h"
#include "common/error.h"
#include "residency/residency_manager.h"

namespace cdb {

NodeHeartbeat::NodeHeartbeat(NodeDirectory& directory, const ResidencyManager& residency,
                             const RouteCounters& counters, std::string name, std::string address,
                             std::chrono::milliseconds interval)
    : directory_(directory),
      residency_(residency),
      counters_(counters),
      name_(std::move(name)),
      address_(std::move(address)),
      interval_(interval),
      started_(std::chrono::system_clock::now()) {
  if (interval_ < std::chrono::milliseconds(10) || interval_ > std::chrono::hours(1))
    throw InvalidArgument("the heartbeat interval (--heartbeat-interval) must be from 0.01 to 3600 seconds, got " +
                          std::to_string(interval_.count() / 1000.0));
  directory_.heartbeat(report());
  thread_ = std::thread(&NodeHeartbeat::run, this);
}

NodeHeartbeat::~NodeHeartbeat() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
  try {
    directory_.remove(name_);
  } catch (const std::exception& e) {
    // The catalog is away: the row stays and ages into alive = false.
    std::fprintf(stderr, "cartridgedb: node %s could not leave the node registry: %s\n", name_.c_str(), e.what());
  }
}

NodeReport NodeHeartbeat::report() const {
  NodeReport r;
  r.name = name_;
  r.address = address_;
  r.started = started_;
  for (auto& e : residency_.resident()) {
    r.resident.push_back(std::move(e.ids));
    r.resident_bytes += e.bytes;
  }
  r.budget_bytes = residency_.options().device_budget_bytes;
  r.asks_in_flight = counters_.in_flight();
  r.asks_forwarded = counters_.forwarded_count();
  r.asks_received = counters_.received_count();
  r.asks_fallback = counters_.fallback_count();
  r.heartbeat = std::chrono::system_clock::now();
  return r;
}

void NodeHeartbeat::run() {
  std::unique_lock lock(mu_);
  while (!wake_.wait_for(lock, interval_, [&] { return stop_; })) {
    lock.unlock();
    try {
      directory_.heartbeat(report());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "cartridgedb: node %s heartbeat failed (retrying in %lld ms): %s\n", name_.c_str(),
                   static_cast<long long>(interval_.count()), e.what());
    }
    lock.lock();
  }
}

}  // namespace cdb
