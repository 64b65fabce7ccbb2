#include "storage/select_pass_through.h"

#include <mutex>

#include "common/error.h"
#include "storage/catalog.h"
#include "storage/catalog_reader.h"
#include "storage/pg_catalog_reader.h"
#include "storage/pg_connection.h"

namespace cdb {

std::unique_ptr<SelectPassThrough> open_select_pass_through(const Catalog& catalog, SelectLimits limits) {
  if (const auto file = catalog.sqlite_file()) return std::make_unique<CatalogReader>(*file, limits);
  const auto* pg = dynamic_cast<const PgConnection*>(&catalog.db());
  if (!pg) throw Unsupported("the SELECT pass-through knows no catalog engine like " + catalog.db().describe());
  return std::make_unique<PgCatalogReader>(pg->url(), limits);
}

std::optional<std::string> select_pass_through_warning(const Catalog& catalog) {
  const auto* pg = dynamic_cast<const PgConnection*>(&catalog.db());
  if (!pg) return std::nullopt;
  std::lock_guard lock(catalog.mutex());
  return PgCatalogReader::role_problem(*pg);
}

}  // namespace cdb
