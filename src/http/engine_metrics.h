// sample_engine(): the engine's figures as /metrics samples, read at each
// scrape through the public API (Database::engine_stats() and a SELECT on
// the jobs table), so they can never go stale: batch, KV slots and queue,
// Cartridge residency per tier, training jobs by state, and running jobs'
// steps (rate() of them: steps/s) and tokens/s.
#pragma once

#include <vector>

#include "cartridgedb/cartridgedb.h"
#include "http/metrics_registry.h"

namespace cdb::http {

std::vector<MetricsRegistry::Sample> sample_engine(cartridgedb::Database& db);

}  // namespace cdb::http
