// NodeHeartbeat: a serve node's presence in the fleet. Reports the node to
// a NodeDirectory (the catalog's nodes table) at construction, then every
// `interval` on its own thread, with what its ResidencyManager holds and
// its RouteCounters; the
// destructor stops the thread and deletes the node's row (a clean stop
// leaves no dead node behind; a crash leaves a row whose heartbeat ages
// until SHOW NODES says alive = false, after three intervals).
//
// The first report runs in the constructor, so that a bad name or an
// unreachable catalog fails the start (InvalidArgument, IoError). Later
// failures (the catalog away for a while) are reported on stderr and
// retried at the next interval: a node keeps answering without its row.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "cluster/node_directory.h"

namespace cdb {

class ResidencyManager;
class RouteCounters;

class NodeHeartbeat {
 public:
  // The directory, the manager and the counters must outlive the heartbeat.
  NodeHeartbeat(NodeDirectory& directory, const ResidencyManager& residency, const RouteCounters& counters,
                std::string name, std::string address, std::chrono::milliseconds interval);
  ~NodeHeartbeat();
  NodeHeartbeat(const NodeHeartbeat&) = delete;
  NodeHeartbeat& operator=(const NodeHeartbeat&) = delete;

  const std::string& name() const { return name_; }
  std::chrono::milliseconds interval() const { return interval_; }
  // What the next heartbeat would write, from the residency manager now.
  NodeReport report() const;

 private:
  void run();

  NodeDirectory& directory_;
  const ResidencyManager& residency_;
  const RouteCounters& counters_;
  std::string name_, address_;
  std::chrono::milliseconds interval_;
  std::chrono::system_clock::time_point started_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace cdb
