#include "storage/catalog_location.h"

#include "storage/pg_catalog_url.h"
#include "storage/pg_connection.h"
#include "storage/sqlite_db.h"

namespace cdb {

std::unique_ptr<SqlConnection> open_catalog_connection(std::string_view location, bool read_only,
                                                       const CatalogRetry& retry) {
  if (is_postgresql_url(location)) return std::make_unique<PgConnection>(parse_pg_catalog_url(location), retry);
  return std::make_unique<SqliteDb>(std::filesystem::path(location), read_only);
}

}  // namespace cdb
