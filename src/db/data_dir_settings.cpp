#include "db/data_dir_settings.h"

#include <mutex>

#include "storage/catalog.h"
#include "storage/catalog_event.h"
#include "storage/sql_statement.h"

namespace cdb {

std::optional<std::string> DataDirSettings::get(std::string_view key) const {
  std::lock_guard lock(catalog_.mutex());
  Statement q(catalog_.db(), "SELECT value FROM settings WHERE key = ?");
  if (!q.bind_all(key).step()) return std::nullopt;
  return q.text(0);
}

void DataDirSettings::set(std::string_view key, std::string_view value) {
  std::lock_guard lock(catalog_.mutex());
  Statement(catalog_.db(),
            std::string("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = "
                        "excluded.value, updated_at = ") +
                catalog_.db().now_sql())
      .bind_all(key, value)
      .run();
}

void DataDirSettings::pin(int64_t corpus_id) {
  std::lock_guard lock(catalog_.mutex());
  Statement(catalog_.db(), "INSERT INTO pins (corpus_id) VALUES (?) ON CONFLICT DO NOTHING").bind_all(corpus_id).run();
  // Every node keeps the pinned corpora's newest Cartridge resident.
  catalog_.notify({CatalogEvent::Kind::PinChanged, corpus_id, 0});
}

bool DataDirSettings::unpin(int64_t corpus_id) {
  std::lock_guard lock(catalog_.mutex());
  Statement(catalog_.db(), "DELETE FROM pins WHERE corpus_id = ?").bind_all(corpus_id).run();
  const bool was = catalog_.db().changes() > 0;
  if (was) catalog_.notify({CatalogEvent::Kind::PinChanged, corpus_id, 0});
  return was;
}

std::vector<int64_t> DataDirSettings::pinned() const {
  std::lock_guard lock(catalog_.mutex());
  Statement q(catalog_.db(), "SELECT corpus_id FROM pins ORDER BY corpus_id");
  std::vector<int64_t> out;
  while (q.step()) out.push_back(q.int64(0));
  return out;
}

bool DataDirSettings::is_pinned(int64_t corpus_id) const {
  std::lock_guard lock(catalog_.mutex());
  Statement q(catalog_.db(), "SELECT 1 FROM pins WHERE corpus_id = ?");
  return q.bind_all(corpus_id).step();
}

}  // namespace cdb
