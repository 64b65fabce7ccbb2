#include "cluster/catalog_node_directory.h"

#include <algorithm>
#include <charconv>
#include <mutex>

#include "common/error.h"
#include "storage/catalog.h"

namespace cdb {

namespace {

using Clock = std::chrono::system_clock;

int64_t to_ms(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
Clock::time_point from_ms(int64_t ms) { return Clock::time_point(std::chrono::milliseconds(ms)); }

constexpr const char* kColumns =
    "name, address, started_at, heartbeat_at, resident, resident_bytes, budget_bytes, asks_in_flight, asks_forwarded, "
    "asks_received, asks_fallback";

NodeReport read_node(const Statement& s) {
  NodeReport r;
  r.name = s.text(0);
  r.address = s.text(1);
  r.started = from_ms(s.int64(2));
  r.heartbeat = from_ms(s.int64(3));
  r.resident = CatalogNodeDirectory::parse_resident(s.text(4));
  r.resident_bytes = s.int64(5);
  r.budget_bytes = s.int64(6);
  r.asks_in_flight = s.int64(7);
  r.asks_forwarded = s.int64(8);
  r.asks_received = s.int64(9);
  r.asks_fallback = s.int64(10);
  return r;
}

}  // namespace

void CatalogNodeDirectory::check_token(std::string_view what, std::string_view value, size_t max_bytes) {
  if (value.empty() || value.size() > max_bytes)
    throw InvalidArgument(std::string(what) + " must be 1 to " + std::to_string(max_bytes) + " characters, got " +
                          std::to_string(value.size()));
  for (char c : value)
    if (c <= ' ' || c > '~')
      throw InvalidArgument(std::string(what) + " '" + std::string(value.substr(0, 64)) +
                            "' must be printable ASCII without spaces (e.g. gpu-3 or 10.0.0.7:5433)");
}

std::string CatalogNodeDirectory::format_resident(const std::vector<std::vector<int64_t>>& resident) {
  std::string out;
  for (const auto& entry : resident) {
    if (!out.empty()) out += ',';
    for (size_t i = 0; i < entry.size(); ++i) {
      if (i) out += '+';
      out += std::to_string(entry[i]);
    }
  }
  return out;
}

std::vector<std::vector<int64_t>> CatalogNodeDirectory::parse_resident(std::string_view text) {
  std::vector<std::vector<int64_t>> out;
  while (!text.empty() && out.size() < kMaxResidentEntries) {
    const size_t comma = text.find(',');
    std::string_view entry = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    std::vector<int64_t> ids;
    bool ok = !entry.empty();
    while (ok && !entry.empty()) {
      const size_t plus = entry.find('+');
      const std::string_view part = entry.substr(0, plus);
      entry = plus == std::string_view::npos ? std::string_view{} : entry.substr(plus + 1);
      int64_t id = 0;
      auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), id);
      ok = ec == std::errc{} && end == part.data() + part.size() && id > 0;
      if (ok) ids.push_back(id);
    }
    if (ok) out.push_back(std::move(ids));
  }
  return out;
}

void CatalogNodeDirectory::heartbeat(const NodeReport& report) {
  check_token("a node name (--node-name)", report.name, kMaxNameBytes);
  check_token("node '" + report.name + "''s address", report.address, kMaxAddressBytes);
  if (report.resident_bytes < 0 || report.budget_bytes < 0)
    throw InvalidArgument("node '" + report.name + "' reported negative bytes (resident " +
                          std::to_string(report.resident_bytes) + ", budget " + std::to_string(report.budget_bytes) +
                          ")");
  if (report.asks_in_flight < 0 || report.asks_forwarded < 0 || report.asks_received < 0 || report.asks_fallback < 0)
    throw InvalidArgument("node '" + report.name + "' reported a negative ASK count");
  if (report.resident.size() > kMaxResidentEntries)
    throw InvalidArgument("node '" + report.name + "' reported " + std::to_string(report.resident.size()) +
                          " resident entries, more than " + std::to_string(kMaxResidentEntries));
  for (const auto& entry : report.resident)
    if (entry.empty() || std::any_of(entry.begin(), entry.end(), [](int64_t id) { return id < 1; }))
      throw InvalidArgument("node '" + report.name + "' reported a resident entry that is not a list of Cartridge ids");
  std::lock_guard lock(catalog_.mutex());
  Statement(catalog_.db(), std::string("INSERT INTO nodes (") + kColumns +
                               ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
                               "address = excluded.address, started_at = excluded.started_at, "
                               "heartbeat_at = excluded.heartbeat_at, resident = excluded.resident, "
                               "resident_bytes = excluded.resident_bytes, budget_bytes = excluded.budget_bytes, "
                               "asks_in_flight = excluded.asks_in_flight, asks_forwarded = excluded.asks_forwarded, "
                               "asks_received = excluded.asks_received, asks_fallback = excluded.asks_fallback")
      .bind_all(report.name, report.address, to_ms(report.started), to_ms(report.heartbeat),
                format_resident(report.resident), report.resident_bytes, report.budget_bytes, report.asks_in_flight,
                report.asks_forwarded, report.asks_received, report.asks_fallback)
      .run();
}

bool CatalogNodeDirectory::remove(const std::string& name) {
  std::lock_guard lock(catalog_.mutex());
  if (!node(name)) return false;
  Statement(catalog_.db(), "DELETE FROM nodes WHERE name = ?").bind_all(name).run();
  return true;
}

std::vector<std::string> CatalogNodeDirectory::expire(Clock::time_point cutoff) {
  Catalog::Transaction tx(catalog_);
  std::vector<std::string> gone;
  Statement s(catalog_.db(), "SELECT name FROM nodes WHERE heartbeat_at < ? ORDER BY name");
  s.bind_all(to_ms(cutoff));
  while (s.step()) gone.push_back(s.text(0));
  Statement(catalog_.db(), "DELETE FROM nodes WHERE heartbeat_at < ?").bind_all(to_ms(cutoff)).run();
  tx.commit();
  return gone;
}

std::vector<NodeReport> CatalogNodeDirectory::nodes() const {
  std::lock_guard lock(catalog_.mutex());
  std::vector<NodeReport> out;
  Statement s(catalog_.db(), std::string("SELECT ") + kColumns + " FROM nodes ORDER BY name");
  while (s.step()) out.push_back(read_node(s));
  return out;
}

std::optional<NodeReport> CatalogNodeDirectory::node(const std::string& name) const {
  std::lock_guard lock(catalog_.mutex());
  Statement s(catalog_.db(), std::string("SELECT ") + kColumns + " FROM nodes WHERE name = ?");
  s.bind_all(name);
  if (!s.step()) return std::nullopt;
  return read_node(s);
}

std::vector<std::string> CatalogNodeDirectory::holders(int64_t cartridge_id) const {
  const std::vector<int64_t> alone{cartridge_id};
  std::vector<std::string> out;
  for (const auto& n : nodes())
    if (std::find(n.resident.begin(), n.resident.end(), alone) != n.resident.end()) out.push_back(n.name);
  return out;
}

}  // namespace cdb
