// Where a catalog lives, as given by --catalog or CDB_CATALOG: a
// postgresql://user@host:port/db URL (pg_catalog_url.h, parsed strictly)
// or, for anything else, a SQLite file path. One function opens either, so
// that Store and the commands never branch on the backend.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "storage/catalog_retry.h"
#include "storage/sql_connection.h"

namespace cdb {

// A PostgreSQL URL is connected to (IoError naming the server when it
// cannot be); a path is opened as SQLite (created unless read_only).
// `retry`: how a lost PostgreSQL connection is made again (pg_connection.h).
std::unique_ptr<SqlConnection> open_catalog_connection(std::string_view location, bool read_only,
                                                       const CatalogRetry& retry = {});

}  // namespace cdb
