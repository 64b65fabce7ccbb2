// InMemoryNodeDirectory: a NodeDirectory in one process's memory, for a
// single server and for the fleet simulation (bench/residency_sim). One
// mutex guards the map; reports are copied in and out.
#pragma once

#include <map>
#include <mutex>

#include "cluster/node_directory.h"

namespace cdb {

class InMemoryNodeDirectory : public NodeDirectory {
 public:
  void heartbeat(const NodeReport& report) override;
  bool remove(const std::string& name) override;
  std::vector<std::string> expire(std::chrono::system_clock::time_point cutoff) override;
  std::vector<NodeReport> nodes() const override;
  std::optional<NodeReport> node(const std::string& name) const override;
  std::vector<std::string> holders(int64_t cartridge_id) const override;

 private:
  mutable std::mutex mu_;
  std::map<std::string, NodeReport> nodes_;  // by name: nodes() comes out sorted
};

}  // namespace cdb
