// cartridge random-model: a seeded random-weight model in the real Hugging
// Face layout and dimensions of a public checkpoint, for benchmarks and
// tests on machines that cannot download the real one.
#include <cxxopts.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "common/command_line.h"
#include "common/error.h"
#include "engine/random_model.h"

namespace cdb::cli {

int cmd_random_model(int argc, char** argv) {
  std::string shapes;
  for (const auto& s : random_model_shapes())
    shapes += (shapes.empty() ? "" : ", ") + s + (is_test_shape(s) ? " (test)" : "");
  cxxopts::Options opts("cartridge random-model",
                        "Write a seeded random-weight model (config.json + model.safetensors)");
  opts.add_options()
      ("shape", "one of: " + shapes, cxxopts::value<std::string>())
      ("layers", "number of layers (default: the shape's)", cxxopts::value<int64_t>())
      ("dtype", "bf16, f32 or f16", cxxopts::value<std::string>()->default_value("bf16"))
      ("seed", "seed; the same seed gives the same bytes everywhere", cxxopts::value<uint64_t>()->default_value("0"))
      ("out", "output directory", cxxopts::value<std::string>())
      ("h,help", "this help");
  cxxopts::ParseResult args;
  if (auto status = parse_command_line(opts, argc, argv, args)) return *status;
  if (!args.count("shape") || !args.count("out")) {
    std::fprintf(stderr, "cartridge random-model: --shape and --out are required\n%s", opts.help().c_str());
    return 2;
  }
  ModelConfig cfg = random_model_config(args["shape"].as<std::string>());
  if (args.count("layers")) {
    const int64_t n = args["layers"].as<int64_t>();
    if (n < 1) throw InvalidArgument("--layers " + std::to_string(n) + ": need at least 1");
    cfg.n_layers = n;
  }
  cfg.weight_dtype = args["dtype"].as<std::string>();
  if (cfg.weight_dtype != "bf16" && cfg.weight_dtype != "f32" && cfg.weight_dtype != "f16")
    throw InvalidArgument("--dtype " + cfg.weight_dtype + ": expected bf16, f32 or f16");
  const std::filesystem::path out = args["out"].as<std::string>();
  const auto t0 = std::chrono::steady_clock::now();
  write_random_model(cfg, args["seed"].as<uint64_t>(), out);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto bytes = std::filesystem::file_size(out / "model.safetensors");
  std::printf("wrote %s: %s, %lld layers, %s, %.1f MB in %.1f s\n", out.string().c_str(),
              args["shape"].as<std::string>().c_str(), static_cast<long long>(cfg.n_layers),
              cfg.weight_dtype.c_str(), bytes / 1e6, secs);
  return 0;
}

}  // namespace cdb::cli
