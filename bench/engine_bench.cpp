// engine_bench: forward-pass speed with a corpus in the prompt vs the same
// context as a Cartridge prefix, and decode speed vs batch size with one
// shared Cartridge. CPU, fp32 (or the device/dtype given).
//
//   prefill   tokens/s of one forward over n prompt tokens (fresh cache)
//   decode    tokens/s of single-token steps after a context of n tokens,
//             held either in the KV cache (mode "prompt": the corpus was
//             prefilled) or as a Cartridge (mode "cartridge": the cache holds
//             only the new tokens); batch B counts B tokens per step.
//
// Models: stories260K (llama2.c), and with --shape (e.g. llama-3.2-1b) a
// random-weight model of that shape cut to --layers layers, built in memory.
// Timings are the best of --reps runs (the machine is shared). The last
// stdout line is one JSON object.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <cxxopts.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <sstream>

#include "bench_support.h"
#include "common/command_line.h"
#include "common/models_dir.h"
#include "engine/llama2c_loader.h"
#include "engine/random_model.h"
#include "engine/transformer.h"

namespace {

using Clock = std::chrono::steady_clock;
using cdb::Cartridge;
using cdb::KVCache;
using cdb::Transformer;
using cdb::bench::parse_list;
using cdb::bench::shaped_model;

template <typename F>
double best_of(int reps, F&& f) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    auto t0 = Clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return best;
}

at::Tensor random_tokens(int64_t b, int64_t n, int64_t vocab) { return at::randint(3, vocab, {b, n}, at::kLong); }

nlohmann::json run(Transformer& m, const std::string& name, const std::vector<int64_t>& contexts,
                   const std::vector<int64_t>& batches, int64_t steps, int reps, bool verbose) {
  c10::InferenceMode guard;
  const int64_t V = m.config().vocab_size;
  nlohmann::json out = {{"model", name}, {"prefill", nlohmann::json::array()}, {"decode", nlohmann::json::array()}};
  for (int64_t n : contexts) {
    at::Tensor toks = random_tokens(1, n, V);
    const double t = best_of(reps, [&] {
      KVCache cache = m.new_cache(1, n);
      m.forward(toks, cache, nullptr, /*last_only=*/true);
    });
    out["prefill"].push_back({{"tokens", n}, {"seconds", t}, {"tokens_per_s", n / t}});
    if (verbose) std::printf("%-14s prefill n=%-5lld %10.1f tok/s\n", name.c_str(), (long long)n, n / t);
  }
  for (int64_t n : contexts) {
    at::Tensor corpus = random_tokens(1, n, V);
    Cartridge cart = m.prefill_cartridge(std::vector<int32_t>(corpus.data_ptr<int64_t>(), corpus.data_ptr<int64_t>() + n));
    for (int64_t B : batches) {
      for (const char* mode : {"prompt", "cartridge"}) {
        const bool prompt = std::string(mode) == "prompt";
        at::Tensor step = random_tokens(B, 1, V);
        // Best of reps, timing the decode steps only (the context is set up first).
        double best = 1e30;
        for (int r = 0; r < reps; ++r) {
          KVCache cache = m.new_cache(B, (prompt ? n : 0) + steps);
          if (prompt) m.forward(corpus.expand({B, n}), cache, nullptr, true);
          auto t0 = Clock::now();
          for (int64_t s = 0; s < steps; ++s) m.forward(step, cache, prompt ? nullptr : &cart, true);
          best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
        }
        const double tps = static_cast<double>(B * steps) / best;
        out["decode"].push_back({{"mode", mode}, {"context", n}, {"batch", B}, {"steps", steps},
                                 {"seconds", best}, {"tokens_per_s", tps}});
        if (verbose)
          std::printf("%-14s decode %-9s context=%-5lld batch=%-3lld %10.1f tok/s\n", name.c_str(), mode,
                      (long long)n, (long long)B, tps);
      }
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  cxxopts::Options opts("engine_bench", "prefill/decode tokens/s: corpus in the prompt vs a Cartridge");
  opts.add_options()
      ("json", "print only the JSON line")
      ("contexts", "context lengths (tokens)", cxxopts::value<std::string>()->default_value("64,128,256,448"))
      ("batches", "batch sizes", cxxopts::value<std::string>()->default_value("1,8,32"))
      ("steps", "decode steps per measurement", cxxopts::value<int64_t>()->default_value("32"))
      ("reps", "repetitions (best is kept)", cxxopts::value<int>()->default_value("3"))
      ("shape", "also a random model of this shape (e.g. llama-3.2-1b)", cxxopts::value<std::string>()->default_value(""))
      ("layers", "layers of the --shape model", cxxopts::value<int64_t>()->default_value("2"))
      ("shape-contexts", "context lengths for --shape", cxxopts::value<std::string>()->default_value("128,512"))
      ("shape-batches", "batch sizes for --shape", cxxopts::value<std::string>()->default_value("1,8"))
      ("h,help", "help");
  cxxopts::ParseResult args;
  if (auto status = cdb::parse_command_line(opts, argc, argv, args)) return *status;
  const bool verbose = !args.count("json");
  const int reps = args["reps"].as<int>();
  const int64_t steps = args["steps"].as<int64_t>();
  at::manual_seed(0);
  nlohmann::json result = {{"bench", "engine"}, {"device", "cpu"}, {"dtype", "f32"}, {"torch_threads", 0},
                           {"models", nlohmann::json::array()}};
  {
    Transformer m(cdb::load_llama2c(cdb::model_file("stories260K/stories260K.bin")));
    result["torch_threads"] = at::get_num_threads();
    result["models"].push_back(run(m, "stories260K", parse_list(args["contexts"].as<std::string>()),
                                   parse_list(args["batches"].as<std::string>()), steps, reps, verbose));
  }
  const std::string shape = args["shape"].as<std::string>();
  if (!shape.empty()) {
    const int64_t layers = args["layers"].as<int64_t>();
    Transformer m(shaped_model(shape, layers));
    result["models"].push_back(run(m, shape + "-" + std::to_string(layers) + "layers",
                                   parse_list(args["shape-contexts"].as<std::string>()),
                                   parse_list(args["shape-batches"].as<std::string>()), steps, reps, verbose));
  }
  std::printf("%s\n", result.dump().c_str());
  return 0;
}
