// decode_attention_bench: the attention of one decode step over each
// sequence's own KV, alone, by each method: LibTorch products (matmul) and
// the fused CUDA kernel with 2 or 4 keys per trip. Reports the time and the
// rate at which it reads the batch's K and V (the bytes that bound it), so
// the kernel can be judged against the device's memory bandwidth without
// the rest of the step.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <cxxopts.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>

#include "common/command_line.h"
#include "common/error.h"
#include "engine/decode_attention.h"

namespace {

using Clock = std::chrono::steady_clock;

void sync(const at::Tensor& t) {
  if (t.is_cuda()) at::zeros({1}, t.options()).cpu();  // waits for the stream
}

}  // namespace

int main(int argc, char** argv) {
  cxxopts::Options opts("decode_attention_bench", "one decode step's attention over own KV, by method");
  opts.add_options()
      ("json", "print only the JSON line")
      ("device", "cpu or cuda", cxxopts::value<std::string>()->default_value("cpu"))
      ("dtype", "f32, bf16 or f16 (default: f32 on cpu, bf16 on cuda)", cxxopts::value<std::string>()->default_value(""))
      ("rows", "sequences in the batch", cxxopts::value<int64_t>()->default_value("256"))
      ("kv-heads", "KV heads", cxxopts::value<int64_t>()->default_value("8"))
      ("groups", "query heads per KV head", cxxopts::value<int64_t>()->default_value("3"))
      ("head-dim", "head dimension", cxxopts::value<int64_t>()->default_value("128"))
      ("keys", "tokens each sequence attends to", cxxopts::value<int64_t>()->default_value("2208"))
      ("iters", "timed repetitions", cxxopts::value<int64_t>()->default_value("20"))
      ("h,help", "help");
  cxxopts::ParseResult args;
  if (auto status = cdb::parse_command_line(opts, argc, argv, args)) return *status;
  const bool verbose = !args.count("json");
  try {
    using namespace cdb;
    c10::InferenceMode inference;
    at::manual_seed(0);
    const at::Device device(args["device"].as<std::string>());
    std::string dt = args["dtype"].as<std::string>();
    if (dt.empty()) dt = device.is_cuda() ? "bf16" : "f32";
    if (dt != "f32" && dt != "bf16" && dt != "f16") throw InvalidArgument("--dtype must be f32, bf16 or f16");
    const at::ScalarType dtype = dt == "bf16" ? at::kBFloat16 : dt == "f16" ? at::kHalf : at::kFloat;
    const int64_t N = args["rows"].as<int64_t>(), KV = args["kv-heads"].as<int64_t>(),
                  G = args["groups"].as<int64_t>(), hd = args["head-dim"].as<int64_t>(),
                  keys = args["keys"].as<int64_t>(), iters = args["iters"].as<int64_t>();
    const auto o = at::TensorOptions().device(device).dtype(dtype);
    // A pool row holds a few more tokens than are visible, as in serving.
    const at::Tensor K = at::randn({N, KV, keys + 64, hd}, o), V = at::randn({N, KV, keys + 64, hd}, o);
    const at::Tensor q = at::randn({N, KV, G, hd}, o) * (1.0 / std::sqrt(static_cast<double>(hd)));
    const at::Tensor lengths = at::full({N}, keys - 1, at::TensorOptions().device(device).dtype(at::kLong));
    const double bytes = 2.0 * static_cast<double>(N * KV * keys * hd) * static_cast<double>(c10::elementSize(dtype));
    nlohmann::json result = {{"bench", "decode_attention"}, {"device", device.str()}, {"dtype", dt},
                             {"rows", N}, {"kv_heads", KV}, {"groups", G}, {"head_dim", hd}, {"keys", keys},
                             {"kv_bytes", bytes}, {"methods", nlohmann::json::array()}};
    if (verbose)
      std::printf("%lld rows x %lld KV heads x %lld groups, head_dim %lld, %lld keys, %s on %s: K+V %.2f GB\n",
                  (long long)N, (long long)KV, (long long)G, (long long)hd, (long long)keys, dt.c_str(),
                  device.str().c_str(), bytes / 1e9);
    struct Method {
      const char* name;
      DecodeAttention how;
      int unroll;
    };
    std::vector<Method> methods = {{"matmul", DecodeAttention::kMatmul, 0}};
    if (fused_decode_attention_applies(q, K, V))
      methods.insert(methods.end(), {{"fused, 2 keys a trip", DecodeAttention::kAuto, 2},
                                     {"fused, 4 keys a trip", DecodeAttention::kAuto, 4}});
    for (const Method& m : methods) {
      attend_own_tokens(q, K, V, lengths, keys, m.how, m.unroll);  // warm-up
      sync(q);
      const auto t0 = Clock::now();
      for (int64_t i = 0; i < iters; ++i) attend_own_tokens(q, K, V, lengths, keys, m.how, m.unroll);
      sync(q);
      const double s = std::chrono::duration<double>(Clock::now() - t0).count() / static_cast<double>(iters);
      result["methods"].push_back({{"method", m.name}, {"ms", s * 1e3}, {"read_gb_per_s", bytes / s / 1e9}});
      if (verbose) std::printf("%-22s %9.3f ms  %8.1f GB/s\n", m.name, s * 1e3, bytes / s / 1e9);
    }
    std::printf("%s\n", result.dump().c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "decode_attention_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
