#include "http/engine_metrics.h"

#include <string>

namespace cdb::http {

std::vector<MetricsRegistry::Sample> sample_engine(cartridgedb::Database& db) {
  const cartridgedb::EngineStats s = db.engine_stats();
  std::vector<MetricsRegistry::Sample> out;
  auto add = [&](const std::string& name, const std::string& help, const char* type, double v,
                 const std::string& labels = {}) { out.push_back({"cartridgedb_" + name, help, type, labels, v}); };
  add("batch_running", "Questions in the continuous batch now.", "gauge", static_cast<double>(s.running));
  add("batch_queued", "Questions waiting for a KV slot (the queue).", "gauge", static_cast<double>(s.queued));
  add("batch_largest", "Most questions decoded in one step since the open.", "gauge", static_cast<double>(s.largest_batch));
  add("kv_slots", "KV slots of the batch.", "gauge", static_cast<double>(s.batch_slots));
  add("kv_slots_used", "KV slots held by running questions.", "gauge", static_cast<double>(s.running));
  add("decode_steps_total", "Decode steps of the batch.", "counter", static_cast<double>(s.decode_steps));
  add("decoded_tokens_total", "Tokens decoded by the batch.", "counter", static_cast<double>(s.decoded_tokens));
  add("prefilled_tokens_total", "Prompt tokens prefilled by the batch.", "counter", static_cast<double>(s.prefilled_tokens));
  // Families grouped: each metric's samples must be contiguous in the text format.
  const std::pair<const char*, const cartridgedb::EngineStats::Tier*> tiers[] = {{"device", &s.device}, {"host", &s.host}};
  using Field = int64_t cartridgedb::EngineStats::Tier::*;
  const std::tuple<const char*, const char*, const char*, Field> fields[] = {
      {"residency_bytes", "Bytes of Cartridges held per tier.", "gauge", &cartridgedb::EngineStats::Tier::bytes},
      {"residency_budget_bytes", "Budget per tier.", "gauge", &cartridgedb::EngineStats::Tier::budget},
      {"residency_entries", "Cartridges held per tier.", "gauge", &cartridgedb::EngineStats::Tier::entries},
      {"residency_hits_total", "Acquires that found their Cartridge resident, per tier.", "counter",
       &cartridgedb::EngineStats::Tier::hits},
      {"residency_misses_total", "Acquires that had to load, per tier.", "counter", &cartridgedb::EngineStats::Tier::misses},
      {"residency_evictions_total", "Cartridges evicted, per tier.", "counter", &cartridgedb::EngineStats::Tier::evictions},
  };
  for (const auto& [name, help, type, field] : fields)
    for (const auto& [tier, t] : tiers) add(name, help, type, static_cast<double>(t->*field), std::string("tier=\"") + tier + "\"");
  add("residency_loads_total", "Cartridge parts loaded from the store.", "counter", static_cast<double>(s.disk_loads));
  add("residency_load_gbps", "Decompressed GB read per second of loading.", "gauge", s.load_gbps);
  add("residency_pinned_bytes", "Device bytes of pinned Cartridges.", "gauge", static_cast<double>(s.pinned_bytes));
  // ASK routing among serve nodes (docs/scale-out.md, "Routing").
  add("asks_in_flight", "ASKs this node is answering now.", "gauge", static_cast<double>(s.asks_in_flight));
  add("asks_forwarded_total", "ASKs relayed to the peer node that should answer them.", "counter",
      static_cast<double>(s.asks_forwarded));
  add("asks_received_total", "ASKs a peer node relayed here.", "counter", static_cast<double>(s.asks_received));
  add("asks_fallback_total", "ASKs answered here because the chosen peer was down, slow or refused.", "counter",
      static_cast<double>(s.asks_fallback));
  try {
    auto session = db.new_session();
    const cartridgedb::Result r = session->execute("SELECT state, count(*) AS n FROM jobs GROUP BY state ORDER BY state");
    for (size_t i = 0; i < r.rows.size(); ++i)
      add("jobs", "Training jobs by state.", "gauge", std::stod(r.at(i, "n")), "state=\"" + r.at(i, "state") + "\"");
    // Running jobs' progress: rate(cartridgedb_job_step[1m]) is training steps/s.
    const cartridgedb::Result jobs = session->execute("SHOW JOBS");
    std::vector<MetricsRegistry::Sample> steps, speed;
    for (size_t i = 0; i < jobs.rows.size(); ++i) {
      if (jobs.at(i, "state") != "running") continue;
      const std::string labels = "job=\"" + jobs.at(i, "id") + "\",corpus=\"" + jobs.at(i, "corpus") + "\"";
      auto number = [](const std::string& v) { return v.empty() ? 0.0 : std::stod(v); };
      steps.push_back({"cartridgedb_job_step", "Training steps done by a running job.", "gauge", labels,
                       number(jobs.at(i, "step"))});
      speed.push_back({"cartridgedb_job_tokens_per_second", "Training tokens per second of a running job.", "gauge",
                       labels, number(jobs.at(i, "tokens_per_s"))});
    }
    out.insert(out.end(), steps.begin(), steps.end());
    out.insert(out.end(), speed.begin(), speed.end());
  } catch (const std::exception&) {
    // The catalog busy or gone: the scrape still answers, without jobs.
  }
  return out;
}

}  // namespace cdb::http
