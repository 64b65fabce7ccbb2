// MetricsRegistry: the HTTP server's counters and histograms, rendered in
// Prometheus' text exposition format (version 0.0.4) for GET /metrics.
// One registry per HttpServer, owned by it and passed down to what records
// into it (no global state). Thread-safe: requests record from their own
// threads; a short mutex is cheap next to a request.
//
// Gauges that belong to the engine (batch, KV slots, queue, residency,
// jobs) are not kept here: render() takes them as already-sampled values,
// read at scrape time, so the registry never goes stale against the engine.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace cdb::http {

class MetricsRegistry {
 public:
  // A value sampled at scrape time: name, help, type ("gauge" or "counter"),
  // labels as `key="value",...` (or empty) and value.
  struct Sample {
    std::string name, help, type, labels;
    double value = 0;
  };

  void count_request(const std::string& endpoint, int status);
  void count_tokens(const std::string& endpoint, const std::string& kind, int64_t n);
  void observe_time_to_first_token(double seconds);
  void observe_inter_token(double seconds);
  void add_in_flight(int delta);
  // A statement of a PostgreSQL session (ServerOptions::on_statement).
  void count_pg_statement(const std::string& statement, bool ok);

  std::string render(const std::vector<Sample>& sampled) const;

 private:
  // Upper bounds in seconds, then +Inf.
  static constexpr std::array<double, 14> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                      0.25,  0.5,    1,     2.5,  5,     10,   30};
  struct Histogram {
    std::array<uint64_t, kBuckets.size() + 1> counts{};
    double sum = 0;
    uint64_t count = 0;
    void observe(double v);
  };

  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::map<std::pair<std::string, std::string>, uint64_t> tokens_;
  std::map<std::pair<std::string, bool>, uint64_t> pg_statements_;
  Histogram ttft_, inter_token_;
  int64_t in_flight_ = 0;
};

}  // namespace cdb::http
