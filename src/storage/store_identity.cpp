#include "storage/store_identity.h"

#include <nlohmann/json.hpp>
#include <random>

#include "common/error.h"
#include "common/hash.h"
#include "storage/blob_store.h"
#include "storage/catalog.h"

namespace cdb {

StoreIdentity new_store_identity() {
  std::random_device rd;
  const uint64_t hi = (uint64_t{rd()} << 32) | rd(), lo = (uint64_t{rd()} << 32) | rd();
  return {hex64(hi) + hex64(lo), kStoreFormatVersion};
}

std::optional<StoreIdentity> read_identity(const Catalog& catalog) {
  std::lock_guard lock(catalog.mutex());
  if (!catalog.db().has_table("store_identity")) return std::nullopt;
  Statement s(catalog.db(), "SELECT store_id, format_version FROM store_identity WHERE one = 1");
  if (!s.step()) return std::nullopt;
  return StoreIdentity{s.text(0), static_cast<int>(s.int64(1))};
}

void write_identity(Catalog& catalog, const StoreIdentity& id) {
  std::lock_guard lock(catalog.mutex());
  Statement(catalog.db(),
            "INSERT INTO store_identity (one, store_id, format_version) VALUES (1, ?, ?) ON CONFLICT (one) DO UPDATE "
            "SET store_id = excluded.store_id, format_version = excluded.format_version")
      .bind_all(id.store_id, id.format_version)
      .run();
}

std::optional<StoreIdentity> read_identity(const BlobStore& blobs) {
  auto txn = blobs.read();
  auto v = txn.get(Space::kMeta, "identity");
  if (!v) return std::nullopt;
  try {
    auto j = nlohmann::json::parse(*v);
    return StoreIdentity{j.at("store_id").get<std::string>(), j.at("format_version").get<int>()};
  } catch (const std::exception& e) {
    throw CorruptData("the identity record in " + blobs.dir().string() + " is unreadable (" + e.what() +
                      "); restore the store's blobs/ directory from a backup");
  }
}

void write_identity(BlobStore& blobs, const StoreIdentity& id) {
  const std::string v = nlohmann::json{{"store_id", id.store_id}, {"format_version", id.format_version}}.dump();
  blobs.write([&](BlobStore::WriteTxn& w) { w.put(Space::kMeta, "identity", v); });
}

}  // namespace cdb
