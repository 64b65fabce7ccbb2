// CatalogNodeDirectory: the NodeDirectory of a fleet, kept in the catalog's
// `nodes` table (sql/007_nodes.sql), so that every serve node sharing a
// PostgreSQL catalog sees the others (on SQLite, the one server sees
// itself). Each call is one statement (expire one transaction) on the
// Catalog's connection, serialized with its other calls.
//
// Rows may have been written by any process that reaches the catalog:
// heartbeat() validates what it writes (names and addresses bounded,
// printable ASCII without spaces), and reading tolerates rows it did not
// write: a malformed resident list reads as the entries that parse.
// Times are unix milliseconds of the writer's clock: nodes of a fleet keep
// their clocks in sync (NTP), as PostgreSQL replication also wants.
#pragma once

#include "cluster/node_directory.h"

namespace cdb {

class Catalog;

class CatalogNodeDirectory : public NodeDirectory {
 public:
  static constexpr size_t kMaxNameBytes = 128;
  static constexpr size_t kMaxAddressBytes = 256;
  static constexpr size_t kMaxResidentEntries = 100000;

  // The catalog must outlive the directory.
  explicit CatalogNodeDirectory(Catalog& catalog) : catalog_(catalog) {}

  // InvalidArgument for a name or address that is empty, too long, or not
  // printable ASCII without spaces; negative bytes; ids below 1.
  void heartbeat(const NodeReport& report) override;
  bool remove(const std::string& name) override;
  std::vector<std::string> expire(std::chrono::system_clock::time_point cutoff) override;
  std::vector<NodeReport> nodes() const override;
  std::optional<NodeReport> node(const std::string& name) const override;
  std::vector<std::string> holders(int64_t cartridge_id) const override;

  // The resident column's text ("3,4+5") and back; malformed entries are
  // skipped when reading.
  static std::string format_resident(const std::vector<std::vector<int64_t>>& resident);
  static std::vector<std::vector<int64_t>> parse_resident(std::string_view text);
  // InvalidArgument naming `what` (e.g. "--node-name") unless `value` is
  // 1..max_bytes of printable ASCII without spaces.
  static void check_token(std::string_view what, std::string_view value, size_t max_bytes);

 private:
  Catalog& catalog_;
};

}  // namespace cdb
