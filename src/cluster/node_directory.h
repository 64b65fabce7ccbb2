// NodeDirectory: which serve node holds which Cartridges, as SHOW NODES
// prints it (name, address, resident Cartridges, bytes, last heartbeat).
//
// Each node reports itself with heartbeat(), replacing what it reported
// before; a node that stops reporting is dropped by expire() once its last
// heartbeat is older than the caller's limit. Readers get copies, never
// references into the directory, so a report arriving meanwhile changes
// nothing they hold.
//
// This is the interface; InMemoryNodeDirectory (one process, and the fleet
// simulation) and CatalogNodeDirectory (the catalog's nodes table, shared
// by the nodes of a fleet on PostgreSQL) implement it. Implementations
// must be safe to call from several threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cdb {

struct NodeReport {
  std::string name;     // --node-name, default host:port
  std::string address;  // where clients and peers reach it (host:port)
  // Device entries, each the ordered Cartridge ids it composes (one id:
  // a Cartridge alone), as ResidencyManager::resident() lists them.
  std::vector<std::vector<int64_t>> resident;
  int64_t resident_bytes = 0;
  int64_t budget_bytes = 0;
  std::chrono::system_clock::time_point heartbeat;
  std::chrono::system_clock::time_point started;  // when the node began reporting (epoch: not known)
  // ASK routing (docs/scale-out.md, "Routing"): the ASKs the node answers
  // itself now (the load routing bounds), and since its start the ASKs it
  // relayed to a peer, a peer relayed to it, and it answered itself because
  // the chosen peer failed (down, slow or refusing).
  int64_t asks_in_flight = 0;
  int64_t asks_forwarded = 0;
  int64_t asks_received = 0;
  int64_t asks_fallback = 0;
};

class NodeDirectory {
 public:
  virtual ~NodeDirectory() = default;

  // Records a node's report, replacing its previous one. InvalidArgument
  // for an empty name or negative bytes.
  virtual void heartbeat(const NodeReport& report) = 0;
  // Drops a node (it left); false when it was not there.
  virtual bool remove(const std::string& name) = 0;
  // Drops the nodes whose last heartbeat is before `cutoff`; their names.
  virtual std::vector<std::string> expire(std::chrono::system_clock::time_point cutoff) = 0;

  // Every node, sorted by name.
  virtual std::vector<NodeReport> nodes() const = 0;
  virtual std::optional<NodeReport> node(const std::string& name) const = 0;
  // The nodes holding the Cartridge alone (a one-id entry), sorted by name.
  virtual std::vector<std::string> holders(int64_t cartridge_id) const = 0;
};

}  // namespace cdb
