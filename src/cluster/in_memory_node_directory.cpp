#include "cluster/in_memory_node_directory.h"

#include <algorithm>

#include "common/error.h"

namespace cdb {

void InMemoryNodeDirectory::heartbeat(const NodeReport& report) {
  if (report.name.empty()) throw InvalidArgument("a node report needs the node's name (--node-name), got an empty one");
  if (report.resident_bytes < 0 || report.budget_bytes < 0)
    throw InvalidArgument("node '" + report.name + "' reported negative bytes (resident " +
                          std::to_string(report.resident_bytes) + ", budget " + std::to_string(report.budget_bytes) +
                          ")");
  std::lock_guard lock(mu_);
  nodes_[report.name] = report;
}

bool InMemoryNodeDirectory::remove(const std::string& name) {
  std::lock_guard lock(mu_);
  return nodes_.erase(name) > 0;
}

std::vector<std::string> InMemoryNodeDirectory::expire(std::chrono::system_clock::time_point cutoff) {
  std::lock_guard lock(mu_);
  std::vector<std::string> gone;
  for (auto it = nodes_.begin(); it != nodes_.end();) {
    if (it->second.heartbeat < cutoff) {
      gone.push_back(it->first);
      it = nodes_.erase(it);
    } else {
      ++it;
    }
  }
  return gone;
}

std::vector<NodeReport> InMemoryNodeDirectory::nodes() const {
  std::lock_guard lock(mu_);
  std::vector<NodeReport> out;
  out.reserve(nodes_.size());
  for (const auto& [name, report] : nodes_) out.push_back(report);
  return out;
}

std::optional<NodeReport> InMemoryNodeDirectory::node(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = nodes_.find(name);
  if (it == nodes_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> InMemoryNodeDirectory::holders(int64_t cartridge_id) const {
  const std::vector<int64_t> alone{cartridge_id};
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, report] : nodes_)
    if (std::find(report.resident.begin(), report.resident.end(), alone) != report.resident.end()) out.push_back(name);
  return out;
}

}  // namespace cdb
