// residency_sim: the hit rate of Cartridge residency across a fleet, by
// device budget per node, node count and routing (affinity: AffinityRing on
// the sorted corpus set; round-robin: what a plain TCP load balancer does),
// and what a fleet of that size asks of PostgreSQL and S3.
//
//   build/bin/residency_sim [--json] [--model llama-3.2-3b] [--corpora 10000]
//       [--nodes 1,4,16] [--budgets-gib 10,40,80] [--zipf 1.0] [--questions N]
//       [--fleet-nodes 100 --fleet-corpora 100000 --fleet-budget-gib 80]
//
// Each node is a real ResidencyManager over a store that moves no bytes
// (cluster/residency_sim.h says what is real and what is modeled). Hit rates
// are measured after a warm-up of as many questions again, so that they are
// the steady state a running fleet sees, not its first hour. The fleet's
// PostgreSQL and S3 rates are derived: the simulated per-question rates
// (misses, Cartridge parts read) times a per-node ASK rate measured on an
// H200 (docs/benchmarks.md, Serving) and the catalog queries one ASK makes
// (counted in docs/scale-out.md, "Sizing a fleet"). The last stdout line
// is one JSON object.
#include <cxxopts.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "cluster/cartridge_shape.h"
#include "cluster/in_memory_node_directory.h"
#include "cluster/residency_sim.h"
#include "cluster/zipf_trace.h"
#include "common/command_line.h"
#include "common/error.h"

namespace {

using cdb::InvalidArgument;
using Clock = std::chrono::steady_clock;

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
constexpr int64_t kMaxQuestions = 100'000'000;
constexpr double kMaxBudgetGiB = 1024;  // a TiB per node: more is a typo

// Decode tokens/s of a full H200 at batch 256 with distinct p = 2048
// Cartridges (docs/benchmarks.md, Serving), and the 128 answer tokens per
// request of that run: ASKs/s one node serves.
struct MeasuredServing {
  const char* model;
  double tokens_per_s;
};
constexpr MeasuredServing kServing[] = {{"llama-3.2-3b", 10459}, {"llama-3.1-8b", 7451}};
constexpr double kAnswerTokens = 128;

// Comma-separated positive numbers of one flag.
std::vector<double> positive_list(const std::string& flag, const std::string& text) {
  std::vector<double> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t used = 0;
    double v = 0;
    try {
      v = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || !std::isfinite(v) || v <= 0)
      throw InvalidArgument("--" + flag + ": '" + item + "' is not a positive number (a comma-separated list)");
    out.push_back(v);
  }
  if (out.empty()) throw InvalidArgument("--" + flag + " needs at least one value");
  return out;
}

int64_t budget_bytes(const std::string& flag, double gib) {
  if (!(gib > 0) || gib > kMaxBudgetGiB)
    throw InvalidArgument("--" + flag + ": a node's budget is more than 0 and at most " +
                          std::to_string(static_cast<int>(kMaxBudgetGiB)) + " GiB, got " + std::to_string(gib));
  return static_cast<int64_t>(gib * kGiB);
}

int64_t node_count(const std::string& flag, double n) {
  if (n != std::floor(n) || n < 1 || n > 10000)
    throw InvalidArgument("--" + flag + ": a fleet has 1 to 10000 nodes, got " + std::to_string(n));
  return static_cast<int64_t>(n);
}

struct Workload {
  cdb::ZipfTraceOptions trace;
  int64_t questions = 0;  // measured, after as many again of warm-up
};

// One fleet replaying the workload: steady-state figures as JSON.
nlohmann::json simulate(const cdb::CartridgeShape& shape, const Workload& w, int64_t nodes, int64_t budget,
                        cdb::Routing routing, double load_factor) {
  auto store = std::make_shared<cdb::LayoutOnlySource>(shape, w.trace.corpora);
  cdb::ResidencySim sim(store, {nodes, budget, routing, load_factor});
  cdb::ZipfTrace trace(w.trace);
  const auto t0 = Clock::now();
  for (int64_t i = 0; i < w.questions; ++i) sim.ask(trace.next());
  const cdb::ResidencySimResult warm = sim.result();
  double corpora_named = 0;
  for (int64_t i = 0; i < w.questions; ++i) {
    const auto q = trace.next();
    corpora_named += static_cast<double>(q.size());
    sim.ask(q);
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  const cdb::ResidencySimResult all = sim.result();
  cdb::InMemoryNodeDirectory directory;
  sim.report(directory, std::chrono::system_clock::now());
  const cdb::FleetResidency held = cdb::FleetResidency::of(directory);

  const double q = static_cast<double>(all.questions - warm.questions);
  const double hits = static_cast<double>(all.hits - warm.hits);
  const double mean_node = static_cast<double>(all.questions) / static_cast<double>(nodes);
  return {{"nodes", nodes},
          {"budget_gib", budget / kGiB},
          {"routing", std::string(cdb::routing_name(routing))},
          {"questions", all.questions - warm.questions},
          {"hit_rate", hits / q},
          {"cold_miss_share", static_cast<double>(all.cold_misses - warm.cold_misses) / q},
          {"part_loads_per_question", static_cast<double>(all.part_loads - warm.part_loads) / q},
          {"corpora_per_question", corpora_named / q},
          {"copies_per_resident_entry", held.copies()},
          {"resident_gib", static_cast<double>(held.bytes) / kGiB},
          {"busiest_node_over_mean", static_cast<double>(all.max_node_questions) / mean_node},
          {"sim_seconds", seconds}};
}

void print_row(const nlohmann::json& r) {
  std::printf("%6lld %8.1f %-21s %8.4f %10.4f %10.3f %8.2f %9.2f %8.1f\n", r["nodes"].get<long long>(),
              r["budget_gib"].get<double>(), r["routing"].get<std::string>().c_str(), r["hit_rate"].get<double>(),
              r["cold_miss_share"].get<double>(), r["part_loads_per_question"].get<double>(),
              r["copies_per_resident_entry"].get<double>(), r["busiest_node_over_mean"].get<double>(),
              r["sim_seconds"].get<double>());
}

void print_header() {
  std::printf("%6s %8s %-21s %8s %10s %10s %8s %9s %8s\n", "nodes", "GiB/node", "routing", "hit", "cold-miss",
              "loads/q", "copies", "max/mean", "sim s");
}

struct SizingInputs {
  double serve_asks_per_node = 0;  // what decode alone allows
  double load_gbps = 0;            // Cartridge bytes a node loads per second
  double catalog_queries_per_corpus = 0;
  double compression = 0;
  double part_mib = 0;
};

// What the fleet of `run` serves and asks of PostgreSQL and S3. A node
// serves the lesser of its decode rate and the rate its Cartridge loads
// allow; the fleet is full when its busiest node is, so its rate is nodes x
// that over the busiest node's share (max/mean).
nlohmann::json sizing(const nlohmann::json& run, const cdb::CartridgeShape& shape, const SizingInputs& in) {
  const double nodes = run["nodes"].get<double>();
  const double loads_per_q = run["part_loads_per_question"].get<double>();
  const double bytes = static_cast<double>(shape.bytes());
  const double load_bound = loads_per_q > 0 ? in.load_gbps * 1e9 / (loads_per_q * bytes) : in.serve_asks_per_node;
  const double per_node = std::min(in.serve_asks_per_node, load_bound);
  const double asks = nodes * per_node / run["busiest_node_over_mean"].get<double>();
  const double loads_per_s = asks * loads_per_q;
  const double stored_tensor = static_cast<double>(shape.tensor_bytes()) / in.compression;
  const double gets_per_load = static_cast<double>(shape.tensors()) * std::ceil(stored_tensor / (in.part_mib * 1024 * 1024));
  const double queries_per_ask = in.catalog_queries_per_corpus * run["corpora_per_question"].get<double>();
  return {{"routing", run["routing"]},
          {"serve_bound_asks_per_node", in.serve_asks_per_node},
          {"load_bound_asks_per_node", load_bound},
          {"fleet_asks_per_s", asks},
          {"catalog_queries_per_ask", queries_per_ask},
          {"catalog_queries_per_s", asks * queries_per_ask},
          {"cartridge_loads_per_s", loads_per_s},
          {"s3_gets_per_load", gets_per_load},
          {"s3_gets_per_s", loads_per_s * gets_per_load},
          {"s3_gb_per_s", loads_per_s * bytes / in.compression / 1e9}};
}

int run(int argc, char** argv) {
  cxxopts::Options cli("residency_sim", "Cartridge hit rates of a fleet by budget, nodes and routing; fleet sizing");
  cli.add_options()("json", "print only the JSON line")(
      "model", "Cartridge shape: llama-3.2-1b, llama-3.2-3b, llama-3.1-8b, qwen3-4b",
      cxxopts::value<std::string>()->default_value("llama-3.2-3b"))(
      "tokens", "Cartridge tokens (p)", cxxopts::value<int64_t>()->default_value("2048"))(
      "dtype", "Cartridge dtype as stored and resident", cxxopts::value<std::string>()->default_value("bf16"))(
      "corpora", "corpora of the table's runs", cxxopts::value<int64_t>()->default_value("10000"))(
      "zipf", "Zipf exponent of corpus popularity (0: uniform)", cxxopts::value<double>()->default_value("1.0"))(
      "max-corpora", "a question names 1 to this many corpora", cxxopts::value<int64_t>()->default_value("3"))(
      "questions", "questions measured per run (after as many of warm-up)",
      cxxopts::value<int64_t>()->default_value("50000"))(
      "nodes", "node counts of the table", cxxopts::value<std::string>()->default_value("1,4,16"))(
      "budgets-gib", "device budgets per node of the table, GiB",
      cxxopts::value<std::string>()->default_value("10,40,80"))(
      "seed", "trace seed", cxxopts::value<uint64_t>()->default_value("1"))(
      "fleet-nodes", "nodes of the fleet run (0: skip it)", cxxopts::value<int64_t>()->default_value("100"))(
      "fleet-corpora", "corpora of the fleet run", cxxopts::value<int64_t>()->default_value("100000"))(
      "fleet-budget-gib", "device budget per node of the fleet run, GiB",
      cxxopts::value<double>()->default_value("80"))(
      "fleet-questions", "questions measured in the fleet run (after as many of warm-up)",
      cxxopts::value<int64_t>()->default_value("200000"))(
      "asks-per-node", "ASKs/s one node serves (0: the H200 figure for --model, docs/benchmarks.md)",
      cxxopts::value<double>()->default_value("0"))(
      "catalog-queries-per-corpus", "catalog queries one ASK makes per corpus it names (docs/scale-out.md)",
      cxxopts::value<double>()->default_value("6"))(
      "compression", "raw / stored bytes of a Cartridge tensor (storage_bench: 1.465)",
      cxxopts::value<double>()->default_value("1.465"))(
      "s3-part-mib", "bytes of one ranged S3 GET, MiB", cxxopts::value<double>()->default_value("8"))(
      "load-gbps", "Cartridge GB/s one node loads (storage_bench, 2 threads: 3.57)",
      cxxopts::value<double>()->default_value("3.57"))(
      "routings", "routings compared", cxxopts::value<std::string>()->default_value("affinity,bounded-affinity,bounded-part-affinity,round-robin"))(
      "load-factor", "bounded-affinity: a node takes at most this times the mean share",
      cxxopts::value<double>()->default_value("1.25"))("h,help", "help");
  cxxopts::ParseResult args;
  if (auto status = cdb::parse_command_line(cli, argc, argv, args)) return *status;
  const bool verbose = !args.count("json");

  const cdb::CartridgeShape shape =
      cdb::CartridgeShape::of_model(args["model"].as<std::string>(), args["tokens"].as<int64_t>(),
                                    args["dtype"].as<std::string>());
  auto questions = [&](const char* flag) {
    const int64_t n = args[flag].as<int64_t>();
    if (n < 1 || n > kMaxQuestions)
      throw InvalidArgument(std::string("--") + flag + ": 1 to " + std::to_string(kMaxQuestions) + " questions, got " +
                            std::to_string(n));
    return n;
  };
  Workload table;
  table.trace.corpora = args["corpora"].as<int64_t>();
  table.trace.exponent = args["zipf"].as<double>();
  table.trace.max_corpora_per_question = args["max-corpora"].as<int64_t>();
  table.trace.seed = args["seed"].as<uint64_t>();
  table.trace.validate();
  table.questions = questions("questions");
  std::vector<int64_t> node_counts;
  for (double n : positive_list("nodes", args["nodes"].as<std::string>())) node_counts.push_back(node_count("nodes", n));
  std::vector<int64_t> budgets;
  for (double g : positive_list("budgets-gib", args["budgets-gib"].as<std::string>()))
    budgets.push_back(budget_bytes("budgets-gib", g));

  const int64_t fleet_nodes = args["fleet-nodes"].as<int64_t>();
  Workload fleet = table;
  int64_t fleet_budget = 0;
  if (fleet_nodes != 0) {
    node_count("fleet-nodes", static_cast<double>(fleet_nodes));
    fleet.trace.corpora = args["fleet-corpora"].as<int64_t>();
    fleet.trace.validate();
    fleet.questions = questions("fleet-questions");
    fleet_budget = budget_bytes("fleet-budget-gib", args["fleet-budget-gib"].as<double>());
  }
  double asks_per_node = args["asks-per-node"].as<double>();
  if (!std::isfinite(asks_per_node) || asks_per_node < 0)
    throw InvalidArgument("--asks-per-node must be >= 0 (0: the measured H200 figure), got " +
                          std::to_string(asks_per_node));
  if (asks_per_node == 0) {
    for (const auto& s : kServing)
      if (shape.model == s.model) asks_per_node = s.tokens_per_s / kAnswerTokens;
    if (asks_per_node == 0 && fleet_nodes != 0)
      throw InvalidArgument("no measured serving rate for " + shape.model +
                            " (docs/benchmarks.md has llama-3.2-3b and llama-3.1-8b); pass --asks-per-node");
  }
  const double per_corpus = args["catalog-queries-per-corpus"].as<double>();
  const double compression = args["compression"].as<double>();
  const double part_mib = args["s3-part-mib"].as<double>();
  const double load_gbps = args["load-gbps"].as<double>();
  const double load_factor = args["load-factor"].as<double>();
  std::vector<cdb::Routing> routings;
  {
    std::stringstream ss(args["routings"].as<std::string>());
    std::string item;
    while (std::getline(ss, item, ',')) routings.push_back(cdb::parse_routing(item));
    if (routings.empty()) throw InvalidArgument("--routings needs at least one routing");
  }
  if (!std::isfinite(load_gbps) || load_gbps <= 0 || load_gbps > 1000)
    throw InvalidArgument("--load-gbps must be in (0, 1000], got " + std::to_string(load_gbps));
  if (!std::isfinite(per_corpus) || per_corpus < 0 || per_corpus > 1000)
    throw InvalidArgument("--catalog-queries-per-corpus must be in [0, 1000], got " + std::to_string(per_corpus));
  if (!std::isfinite(compression) || compression < 1 || compression > 100)
    throw InvalidArgument("--compression is raw over stored bytes, in [1, 100], got " + std::to_string(compression));
  if (!std::isfinite(part_mib) || part_mib < 0.0625 || part_mib > 5120)
    throw InvalidArgument("--s3-part-mib must be in [0.0625, 5120] (S3 parts), got " + std::to_string(part_mib));

  // Every run's options checked before the first runs, so that a bad flag
  // fails at once instead of after minutes of simulation.
  std::vector<int64_t> all_budgets = budgets;
  if (fleet_nodes != 0) all_budgets.push_back(fleet_budget);
  for (int64_t b : all_budgets) {
    cdb::ResidencySimOptions{1, b, cdb::Routing::BoundedAffinity, load_factor}.validate();
    if (shape.bytes() > b / table.trace.max_corpora_per_question)
      throw InvalidArgument("a node budget of " + std::to_string(b / kGiB) + " GiB cannot hold a composition of " +
                            std::to_string(table.trace.max_corpora_per_question) + " Cartridges of " +
                            std::to_string(shape.bytes() / 1e6) + " MB; raise the budget or lower --max-corpora");
  }

  nlohmann::json out = {{"bench", "residency_sim"},
                        {"model", shape.model},
                        {"cartridge_bytes", shape.bytes()},
                        {"cartridge_tensors", shape.tensors()},
                        {"zipf", table.trace.exponent},
                        {"max_corpora_per_question", table.trace.max_corpora_per_question},
                        {"corpora", table.trace.corpora},
                        {"seed", table.trace.seed},
                        {"runs", nlohmann::json::array()}};
  if (verbose) {
    std::printf("%s Cartridges of %lld tokens in %s: %.1f MB, %lld tensors; %lld corpora, Zipf %.2f, 1-%lld per "
                "question; %lld questions measured after %lld of warm-up\n",
                shape.model.c_str(), static_cast<long long>(shape.tokens), shape.dtype.c_str(), shape.bytes() / 1e6,
                static_cast<long long>(shape.tensors()), static_cast<long long>(table.trace.corpora),
                table.trace.exponent, static_cast<long long>(table.trace.max_corpora_per_question),
                static_cast<long long>(table.questions), static_cast<long long>(table.questions));
    print_header();
  }
  for (int64_t n : node_counts)
    for (int64_t b : budgets)
      for (cdb::Routing r : routings) {
        auto row = simulate(shape, table, n, b, r, load_factor);
        if (verbose) print_row(row);
        out["runs"].push_back(row);
      }

  if (fleet_nodes != 0) {
    nlohmann::json f = {{"corpora", fleet.trace.corpora},
                        {"asks_per_node", asks_per_node},
                        {"catalog_queries_per_corpus", per_corpus},
                        {"compression", compression},
                        {"s3_part_mib", part_mib},
                        {"load_gbps", load_gbps},
                        {"load_factor", load_factor},
                        {"runs", nlohmann::json::array()},
                        {"sizing", nlohmann::json::array()}};
    if (verbose) {
      std::printf("\nfleet: %lld nodes, %lld corpora, %.0f GiB per node, %lld questions measured\n",
                  static_cast<long long>(fleet_nodes), static_cast<long long>(fleet.trace.corpora),
                  fleet_budget / kGiB, static_cast<long long>(fleet.questions));
      print_header();
    }
    const SizingInputs in{asks_per_node, load_gbps, per_corpus, compression, part_mib};
    for (cdb::Routing r : routings) {
      auto row = simulate(shape, fleet, fleet_nodes, fleet_budget, r, load_factor);
      if (verbose) print_row(row);
      f["runs"].push_back(row);
      f["sizing"].push_back(sizing(row, shape, in));
    }
    if (verbose) {
      std::printf("\nper node: %.1f ASKs/s decode-bound (%s), Cartridge loads at %.2f GB/s; %.0f catalog "
                  "queries per corpus named; %.3f compression; %.0f MiB S3 parts\n",
                  asks_per_node, args["asks-per-node"].as<double>() == 0 ? "H200, docs/benchmarks.md" : "given",
                  load_gbps, per_corpus, compression, part_mib);
      std::printf("%-21s %11s %11s %10s %12s %10s %10s %9s\n", "routing", "load-bound", "fleet ASK/s", "q/ASK",
                  "catalog q/s", "loads/s", "S3 GETs/s", "S3 GB/s");
      for (const auto& s : f["sizing"])
        std::printf("%-21s %11.1f %11.0f %10.1f %12.0f %10.1f %10.0f %9.2f\n", s["routing"].get<std::string>().c_str(),
                    s["load_bound_asks_per_node"].get<double>(), s["fleet_asks_per_s"].get<double>(),
                    s["catalog_queries_per_ask"].get<double>(), s["catalog_queries_per_s"].get<double>(),
                    s["cartridge_loads_per_s"].get<double>(), s["s3_gets_per_s"].get<double>(),
                    s["s3_gb_per_s"].get<double>());
    }
    out["fleet"] = f;
  }
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const cdb::Error& e) {
    std::fprintf(stderr, "residency_sim: %s\n", e.what());
    return 2;
  }
}
