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
// buffer), on 1 and 2 threads, into
//   - a pre-faulted destination (reused across reps: the decoder alone),
//   - a fresh DecodedTensor (2 MiB aligned, advised for huge pages), and
//   - a fresh plain new[] buffer (4 KiB page faults on first touch),
// as min and median over reps of wall time, plus GB per CPU-second of the
// whole process (median), which the other jobs of a shared machine disturb
// less than wall time. The load average is recorded before and after.
// The last stdout line is one JSON object.
#include <cxxopts.hpp>
#include <ATen/ATen.h>
#include <fstream>
#include <iterator>

#include "common/command_line.h"
#include "common/models_dir.h"
#include "engine/load_model.h"
#include "engine/tensor_bridge.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/transformer.h"
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <memory>
#include <cstring>
#include <filesystem>
#include <random>
#include <thread>
#include <unistd.h>

#include "common/thread_pool.h"
#include "storage/blob_store.h"
#include "storage/tensor_codec.h"
#include "storage_bench_support.h"

namespace {

using cdb::bench::load_average;
using cdb::bench::time_reps;
using cdb::bench::Timing;

struct Options {
  std::filesystem::path dir;
  int level = 1;
  int reps = 7;
  size_t chunk_bytes = cdb::CodecOptions{}.chunk_bytes;
  bool verbose = true;
};

void record(nlohmann::json& out, const std::string& key, const Timing& t, size_t bytes) {
  out[key + "_GBps_min_time"] = bytes / t.min() / 1e9;
  out[key + "_GBps_median"] = bytes / t.median_wall() / 1e9;
  out[key + "_GB_per_cpu_s"] = bytes / t.median_cpu() / 1e9;
}

nlohmann::json measure(const std::string& name, const cdb::TensorView& t, const Options& o) {
  const size_t raw = static_cast<size_t>(cdb::checked_numel(t.shape, t.dtype, name)) * cdb::dtype_size(t.dtype);
  nlohmann::json out;
  out["name"] = name;
  out["dtype"] = std::string(cdb::dtype_name(t.dtype));
  out["shape"] = t.shape;
  out["raw_bytes"] = raw;
  out["zstd_level"] = o.level;
  out["chunk_bytes"] = o.chunk_bytes;

  for (bool shuffle : {false, true}) {
    cdb::CodecOptions c;
    c.level = o.level;
    c.shuffle = shuffle;
    c.chunk_bytes = o.chunk_bytes;
    c.threads = 2;
    std::string blob = cdb::encode_tensor(t, c);
    out[shuffle ? "ratio_shuffle" : "ratio_no_shuffle"] = static_cast<double>(raw) / blob.size();
    out[shuffle ? "stored_bytes_shuffle" : "stored_bytes_no_shuffle"] = blob.size();
    if (shuffle) {
      const cdb::TensorHeader h = cdb::read_header(blob, "bench");
      size_t raw_planes = 0;
      for (const auto& p : h.planes) raw_planes += p.encoding == cdb::PlaneEncoding::Raw;
      out["chunks"] = h.chunks.size();
      out["planes"] = h.planes.size();
      out["raw_planes"] = raw_planes;
    }
  }

  std::vector<uint8_t> dst(raw, 1);  // value-initialized: every page is faulted in
  for (int threads : {1, 2}) {
    std::filesystem::remove_all(o.dir);
    cdb::BlobStore store(o.dir);
    cdb::ThreadPool pool(threads);
    cdb::CodecOptions c;
    c.level = o.level;
    c.chunk_bytes = o.chunk_bytes;
    c.threads = threads;
    int rep = 0;
    const Timing write = time_reps(std::max(1, o.reps / 2), [&] {
      std::string blob = cdb::encode_tensor(t, c, pool);
      store.put("bench/" + std::to_string(rep++), blob);
    });
    const std::string key = "bench/0";
    auto read_into = [&](void* p) {
      auto txn = store.read();
      cdb::decode_tensor_into(txn.at(key), p, raw, key, pool);
    };
    read_into(dst.data());  // maps the blob's pages into this process once
    const Timing prefaulted = time_reps(o.reps, [&] { read_into(dst.data()); });
    if (std::memcmp(dst.data(), t.data, raw) != 0) throw std::runtime_error("bench: decoded bytes differ");
    const Timing fresh_thp = time_reps(o.reps, [&] {
      auto txn = store.read();
      const std::string_view blob = txn.at(key);
      const cdb::TensorHeader h = cdb::read_header(blob, key);
      cdb::DecodedTensor d(h.dtype, h.shape);
      cdb::decode_tensor_into(blob, d.data(), d.bytes(), key, pool);
    });
    const Timing fresh_4k = time_reps(o.reps, [&] {
      std::unique_ptr<uint8_t[]> d(new uint8_t[raw]);
      read_into(d.get());
    });
    // The same read on a blob of raw planes (no zstd): the floor set by
    // checksums, copies and memory bandwidth.
    cdb::CodecOptions raw_c = c;
    raw_c.compress = false;
    const std::string plain = cdb::encode_tensor(t, raw_c, pool);
    const Timing plain_t = time_reps(o.reps, [&] {
      cdb::decode_tensor_into(plain, dst.data(), dst.size(), "plain", pool);
    });
    const std::string suffix = "_t" + std::to_string(threads);
    out["write_MBps" + suffix] = raw / write.min() / 1e6;
    record(out, "read_prefaulted" + suffix, prefaulted, raw);
    record(out, "read_fresh_thp" + suffix, fresh_thp, raw);
    record(out, "read_fresh_4k" + suffix, fresh_4k, raw);
    record(out, "read_uncompressed_format" + suffix, plain_t, raw);
    if (o.verbose)
      std::fprintf(stderr,
                   "%s threads=%d write %.0f MB/s | read GB/s min-time/median (GB per CPU-s): prefaulted %.2f/%.2f "
                   "(%.2f), fresh THP %.2f/%.2f (%.2f), fresh 4k %.2f/%.2f (%.2f), raw planes %.2f/%.2f (%.2f)\n",
                   name.c_str(), threads, raw / write.min() / 1e6, raw / prefaulted.min() / 1e9,
                   raw / prefaulted.median_wall() / 1e9, raw / prefaulted.median_cpu() / 1e9, raw / fresh_thp.min() / 1e9,
                   raw / fresh_thp.median_wall() / 1e9, raw / fresh_thp.median_cpu() / 1e9, raw / fresh_4k.min() / 1e9,
                   raw / fresh_4k.median_wall() / 1e9, raw / fresh_4k.median_cpu() / 1e9, raw / plain_t.min() / 1e9,
                   raw / plain_t.median_wall() / 1e9, raw / plain_t.median_cpu() / 1e9);
  }
  std::filesystem::remove_all(o.dir);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  cxxopts::Options cli("storage_bench", "tensor codec and blob store throughput");
  cli.add_options()("json", "print only the JSON result line")("level", "zstd level", cxxopts::value<int>()->default_value("1"))(
      "reps", "repetitions (min and median are reported)", cxxopts::value<int>()->default_value("7"))(
      "chunk-kib", "codec chunk size in KiB (0: the codec default)", cxxopts::value<size_t>()->default_value("0"))(
      "tokens", "cartridge tokens", cxxopts::value<int64_t>()->default_value("2048"))(
      "dir", "scratch directory for LMDB", cxxopts::value<std::string>()->default_value(""))("h,help", "help");
  cxxopts::ParseResult args;
  if (auto status = cdb::parse_command_line(cli, argc, argv, args)) return *status;
  Options o;
  o.level = args["level"].as<int>();
  o.reps = args["reps"].as<int>();
  o.verbose = !args.count("json");
  if (args["chunk-kib"].as<size_t>() > 0) o.chunk_bytes = args["chunk-kib"].as<size_t>() << 10;
  o.dir = args["dir"].as<std::string>().empty()
              ? std::filesystem::temp_directory_path() / ("cdb-storage-bench-" + std::to_string(::getpid()))
              : std::filesystem::path(args["dir"].as<std::string>());

  nlohmann::json result;
  result["bench"] = "storage";
  result["hardware_threads"] = std::thread::hardware_concurrency();
  result["load_average_before"] = load_average();
  result["datasets"] = nlohmann::json::array();

  {  // Llama-3.2-3B-shaped: 28 layers, 8 KV heads, head_dim 128.
    const std::vector<int64_t> shape = cdb::bench::llama3b_cartridge_shape(args["tokens"].as<int64_t>());
    const std::vector<uint16_t> data = cdb::bench::synthetic_normal_bf16(shape);
    result["datasets"].push_back(measure("synthetic-normal-bf16", {cdb::DType::BF16, shape, data.data()}, o));
  }
  {  // Real KV: stories260K's keys and values over its own golden story.
    const auto model_path = cdb::model_file("stories260K/stories260K.bin");
    auto tok = cdb::load_tokenizer(cdb::model_file("stories260K/tok512.bin"));
    std::ifstream in(cdb::model_file("stories260K/golden_greedy_t0_n200.txt"));
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    cdb::Transformer model(cdb::load_model(model_path));
    c10::InferenceMode guard;
    cdb::Cartridge kv = model.prefill_cartridge(tok->encode(text, true));
    std::vector<at::Tensor> layers;
    for (int64_t l = 0; l < kv.layers(); ++l) layers.push_back(at::stack({kv.keys[l], kv.values[l]}));
    at::Tensor all = at::stack(layers).to(at::kBFloat16).contiguous();  // [layers, 2, kv_heads, p, head_dim]
    result["datasets"].push_back(measure("stories260K-kv-bf16", cdb::tensor_view(all), o));
  }
  result["load_average_after"] = load_average();
  std::printf("%s\n", result.dump().c_str());
  return 0;
}
