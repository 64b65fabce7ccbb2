// storage_bench: compression ratio and speed of the tensor codec and blob
// store on a Cartridge-shaped tensor.
//
// Data set "synthetic-normal-bf16": a Llama-3.2-3B-shaped Cartridge of
// 2048 tokens, [28 layers, 2 (K,V), 8 KV heads, 2048 tokens, 128 dims] in
// bf16 (235 MB), values ~ N(0, 1). More data sets (e.g. real KV values from
// the engine) are added by calling measure() on another TensorView.
//
// Per data set: compressed/raw ratio with and without the shuffle filter;
// write MB/s (encode + LMDB put + durable commit); read GB/s (LMDB get +
// checksum verification + decompress + unshuffle into one contiguous
// buffer), on 1 and 2 threads. The last stdout line is one JSON object.
#include <cxxopts.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <thread>
#include <unistd.h>

#include "common/thread_pool.h"
#include "storage/blob_store.h"
#include "storage/tensor_codec.h"

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct Options {
  std::filesystem::path dir;
  int level = 1;
  int reps = 3;
  bool verbose = true;
};

// Best-of-reps timing: the machine is shared, the minimum is the least
// disturbed run.
template <typename F>
double best_seconds(int reps, F&& f) {
  double best = 1e300;
  for (int r = 0; r < reps; ++r) {
    auto t0 = Clock::now();
    f();
    best = std::min(best, seconds_since(t0));
  }
  return best;
}

nlohmann::json measure(const std::string& name, const cdb::TensorView& t, const Options& o) {
  const size_t raw = static_cast<size_t>(cdb::checked_numel(t.shape, t.dtype, name)) * cdb::dtype_size(t.dtype);
  nlohmann::json out;
  out["name"] = name;
  out["dtype"] = std::string(cdb::dtype_name(t.dtype));
  out["shape"] = t.shape;
  out["raw_bytes"] = raw;
  out["zstd_level"] = o.level;

  for (bool shuffle : {false, true}) {
    cdb::CodecOptions c;
    c.level = o.level;
    c.shuffle = shuffle;
    c.threads = 2;
    std::string blob = cdb::encode_tensor(t, c);
    out[shuffle ? "ratio_shuffle" : "ratio_no_shuffle"] = static_cast<double>(raw) / blob.size();
    out[shuffle ? "stored_bytes_shuffle" : "stored_bytes_no_shuffle"] = blob.size();
  }

  std::vector<uint8_t> dst(raw);
  for (int threads : {1, 2}) {
    std::filesystem::remove_all(o.dir);
    cdb::BlobStore store(o.dir);
    cdb::ThreadPool pool(threads);
    cdb::CodecOptions c;
    c.level = o.level;
    c.threads = threads;
    int rep = 0;
    const double write_s = best_seconds(o.reps, [&] {
      std::string blob = cdb::encode_tensor(t, c, pool);
      store.put("bench/" + std::to_string(rep++), blob);
    });
    const std::string key = "bench/0";
    const double read_s = best_seconds(o.reps + 2, [&] {
      auto txn = store.read();
      cdb::decode_tensor_into(txn.at(key), dst.data(), dst.size(), key, pool);
    });
    if (std::memcmp(dst.data(), t.data, raw) != 0) throw std::runtime_error("bench: decoded bytes differ");
    // The pieces of a read, for finding where time goes.
    std::string blob = *store.get_copy(key);
    const cdb::TensorHeader h = cdb::read_header(blob, key);
    cdb::CodecOptions raw_c = c;
    raw_c.compress = false;
    raw_c.shuffle = false;
    const std::string plain = cdb::encode_tensor(t, raw_c, pool);
    const double plain_s = best_seconds(o.reps, [&] {
      cdb::decode_tensor_into(plain, dst.data(), dst.size(), "plain", pool);
    });
    const std::string suffix = "_t" + std::to_string(threads);
    out["write_MBps" + suffix] = raw / write_s / 1e6;
    out["read_GBps" + suffix] = raw / read_s / 1e9;
    out["read_uncompressed_format_GBps" + suffix] = raw / plain_s / 1e9;
    out["chunks"] = h.chunks.size();
    if (o.verbose)
      std::fprintf(stderr, "%s threads=%d write %.0f MB/s, read+verify+decompress %.2f GB/s (raw format %.2f GB/s)\n",
                   name.c_str(), threads, raw / write_s / 1e6, raw / read_s / 1e9, raw / plain_s / 1e9);
  }
  std::filesystem::remove_all(o.dir);
  return out;
}

// bf16 by truncation-with-rounding of an f32, as torch's conversion does
// (round to nearest even).
uint16_t to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  u += 0x7fff + ((u >> 16) & 1);
  return static_cast<uint16_t>(u >> 16);
}

}  // namespace

int main(int argc, char** argv) {
  cxxopts::Options cli("storage_bench", "tensor codec and blob store throughput");
  cli.add_options()("json", "print only the JSON result line")("level", "zstd level", cxxopts::value<int>()->default_value("1"))(
      "reps", "repetitions (best is kept)", cxxopts::value<int>()->default_value("3"))(
      "tokens", "cartridge tokens", cxxopts::value<int64_t>()->default_value("2048"))(
      "dir", "scratch directory for LMDB", cxxopts::value<std::string>()->default_value(""))("h,help", "help");
  auto args = cli.parse(argc, argv);
  if (args.count("help")) {
    std::puts(cli.help().c_str());
    return 0;
  }
  Options o;
  o.level = args["level"].as<int>();
  o.reps = args["reps"].as<int>();
  o.verbose = !args.count("json");
  o.dir = args["dir"].as<std::string>().empty()
              ? std::filesystem::temp_directory_path() / ("cdb-storage-bench-" + std::to_string(::getpid()))
              : std::filesystem::path(args["dir"].as<std::string>());

  nlohmann::json result;
  result["bench"] = "storage";
  result["hardware_threads"] = std::thread::hardware_concurrency();
  result["datasets"] = nlohmann::json::array();

  {  // Llama-3.2-3B-shaped: 28 layers, 8 KV heads, head_dim 128.
    const int64_t tokens = args["tokens"].as<int64_t>();
    std::vector<int64_t> shape{28, 2, 8, tokens, 128};
    size_t n = 1;
    for (auto d : shape) n *= static_cast<size_t>(d);
    std::vector<uint16_t> data(n);
    std::mt19937_64 rng(42);
    std::normal_distribution<float> dist(0.f, 1.f);
    for (auto& x : data) x = to_bf16(dist(rng));
    result["datasets"].push_back(measure("synthetic-normal-bf16", {cdb::DType::BF16, shape, data.data()}, o));
  }
  std::printf("%s\n", result.dump().c_str());
  return 0;
}
