#include "storage/quarantine.h"

#include <algorithm>
#include <cstring>

#include "common/error.h"

namespace cdb {

std::pair<int64_t, std::string_view> split_quarantined(std::string_view key, std::string_view value) {
  if (value.size() < 8) throw CorruptData("quarantined blob '" + std::string(key) + "' has no time stamp");
  int64_t t;
  std::memcpy(&t, value.data(), 8);  // little-endian on every platform we build for
  return {t, value.substr(8)};
}

void quarantine_blobs(BlobStore::WriteTxn& w, const std::vector<std::string>& keys, int64_t now) {
  for (const auto& k : keys) {
    auto blob = w.get(k);
    if (!blob) continue;
    // Copied before the put: a write may move the page the blob lives on.
    std::string v(8, '\0');
    std::memcpy(v.data(), &now, 8);
    v.append(*blob);
    w.put(Space::kQuarantine, k, v);
    w.erase(Space::kBlobs, k);  // the record stays: it describes the quarantined blob
  }
}

std::vector<std::string> quarantined_before(const BlobStore& blobs, int64_t cutoff) {
  std::vector<std::string> out;
  for (const auto& [k, t] : list_quarantine(blobs))
    if (t < cutoff) out.push_back(k);
  return out;
}

void purge_quarantined(BlobStore::WriteTxn& w, const std::vector<std::string>& keys) {
  for (const auto& k : keys) {
    w.erase(Space::kQuarantine, k);
    // The record goes too, unless a live blob took the key back since.
    if (!w.get(k)) w.erase(Space::kRecords, k);
  }
}

std::vector<std::string> restore_quarantined(BlobStore::WriteTxn& w, const std::vector<std::string>& keys) {
  std::vector<std::string> back;
  for (const auto& k : keys) {
    auto q = w.get(Space::kQuarantine, k);
    if (!q || w.get(k)) continue;
    const std::string blob(split_quarantined(k, *q).second);  // copied: the put may move the page
    w.put(k, blob);
    w.erase(Space::kQuarantine, k);
    back.push_back(k);
  }
  return back;
}

std::vector<std::pair<std::string, int64_t>> list_quarantine(const BlobStore& blobs) {
  std::vector<std::pair<std::string, int64_t>> out;
  auto txn = blobs.read();
  txn.for_each_value(Space::kQuarantine, {}, [&](std::string_view k, std::string_view v) {
    int64_t t = 0;
    if (v.size() >= 8) std::memcpy(&t, v.data(), 8);
    out.emplace_back(std::string(k), t);
  });
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
  return out;
}

}  // namespace cdb
