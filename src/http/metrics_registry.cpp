#include "http/metrics_registry.h"

#include <cmath>
#include <cstdio>
#include <set>

namespace cdb::http {

namespace {

std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  char b[64];
  std::snprintf(b, sizeof b, "%.17g", v);
  return b;
}

void header(std::string& out, const std::string& name, const std::string& help, const std::string& type) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

// A label value as the text format wants it: \\, \" and \n escaped.
std::string label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

void MetricsRegistry::Histogram::observe(double v) {
  size_t i = 0;
  while (i < kBuckets.size() && v > kBuckets[i]) ++i;
  ++counts[i];
  sum += v;
  ++count;
}

void MetricsRegistry::count_request(const std::string& endpoint, int status) {
  std::lock_guard lock(mu_);
  ++requests_[{endpoint, status}];
}

void MetricsRegistry::count_tokens(const std::string& endpoint, const std::string& kind, int64_t n) {
  if (n <= 0) return;
  std::lock_guard lock(mu_);
  tokens_[{endpoint, kind}] += static_cast<uint64_t>(n);
}

void MetricsRegistry::observe_time_to_first_token(double seconds) {
  std::lock_guard lock(mu_);
  ttft_.observe(seconds);
}

void MetricsRegistry::observe_inter_token(double seconds) {
  std::lock_guard lock(mu_);
  inter_token_.observe(seconds);
}

void MetricsRegistry::count_pg_statement(const std::string& statement, bool ok) {
  std::lock_guard lock(mu_);
  ++pg_statements_[{statement, ok}];
}

void MetricsRegistry::add_in_flight(int delta) {
  std::lock_guard lock(mu_);
  in_flight_ += delta;
}

std::string MetricsRegistry::render(const std::vector<Sample>& sampled) const {
  std::string out;
  std::lock_guard lock(mu_);
  header(out, "cartridgedb_http_requests_total", "HTTP requests by endpoint and status.", "counter");
  for (const auto& [k, v] : requests_)
    out += "cartridgedb_http_requests_total{endpoint=\"" + k.first + "\",status=\"" + std::to_string(k.second) +
           "\"} " + std::to_string(v) + "\n";
  header(out, "cartridgedb_http_tokens_total", "Tokens by endpoint and kind (prompt or completion).", "counter");
  for (const auto& [k, v] : tokens_)
    out += "cartridgedb_http_tokens_total{endpoint=\"" + k.first + "\",kind=\"" + k.second + "\"} " +
           std::to_string(v) + "\n";
  auto histogram = [&](const std::string& name, const std::string& help, const Histogram& h) {
    header(out, name, help, "histogram");
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= kBuckets.size(); ++i) {
      cumulative += h.counts[i];
      out += name + "_bucket{le=\"" + (i < kBuckets.size() ? number(kBuckets[i]) : "+Inf") + "\"} " +
             std::to_string(cumulative) + "\n";
    }
    out += name + "_sum " + number(h.sum) + "\n" + name + "_count " + std::to_string(h.count) + "\n";
  };
  histogram("cartridgedb_http_time_to_first_token_seconds", "From request received to its first token.", ttft_);
  histogram("cartridgedb_http_inter_token_seconds", "Between two tokens of one answer.", inter_token_);
  header(out, "cartridgedb_pg_statements_total", "Statements of PostgreSQL sessions by kind and outcome.", "counter");
  for (const auto& [k, v] : pg_statements_)
    out += "cartridgedb_pg_statements_total{statement=\"" + label(k.first) + "\",outcome=\"" +
           (k.second ? "ok" : "error") + "\"} " + std::to_string(v) + "\n";
  header(out, "cartridgedb_http_requests_in_flight", "Completion requests being answered now.", "gauge");
  out += "cartridgedb_http_requests_in_flight " + std::to_string(in_flight_) + "\n";
  std::set<std::string> described;
  for (const auto& s : sampled) {
    if (described.insert(s.name).second) header(out, s.name, s.help, s.type);
    out += s.name + (s.labels.empty() ? "" : "{" + s.labels + "}") + " " + number(s.value) + "\n";
  }
  return out;
}

}  // namespace cdb::http
