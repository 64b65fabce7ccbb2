// CatalogRetry: how a PostgreSQL catalog connection that was lost (the
// server restarted, failed over to a promoted replica behind the same
// address, a pooler dropped it) is made again: `retries` connection
// attempts after the first, waiting `wait_ms` before the first retry and
// doubling up to `max_wait_ms` (--catalog-retries, --catalog-retry-wait).
// With the defaults a catalog away for about 12 s is ridden out; longer is
// an IoError naming the catalog. Ignored by a SQLite catalog.
#pragma once

#include <cstdint>

namespace cdb {

struct CatalogRetry {
  int retries = 8;
  int64_t wait_ms = 250;
  int64_t max_wait_ms = 2000;
};

}  // namespace cdb
