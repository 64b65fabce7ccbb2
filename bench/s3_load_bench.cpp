// s3_load_bench: how fast a Cartridge loads from S3-compatible object
// storage (ranged parallel GETs) against a load from the local LMDB, with
// checksums verified in both.
//
// Data set: the 235 MB Llama-3.2-3B-shaped Cartridge of storage_bench
// (storage_bench_support.h), encoded as the store encodes it (byte shuffle
// + zstd 1, checksummed chunks). A load is what Store::read_cartridge does:
//  - LMDB: get the blob from the map, verify and decode it into a fresh
//    huge-page buffer (storage_bench's "read + verify + decompress into a
//    fresh buffer", the issue's "cold load");
//  - S3: fetch the stored blob over `connections` connections in ranges of
//    --range-mib into a fresh buffer, then verify and decode it the same way.
// The S3 transfer alone is reported too, and the endpoint's own ceiling
// measured without our client: the curl command-line tool, one GET, and
// `connections` curl processes each fetching one range at once.
//
// Needs a running endpoint and a bucket, with AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY set; with s3rver (docs/scale-out.md):
//   NODE_PATH=third_party/npm/node_modules node --openssl-legacy-provider
//     tests/support/s3rver_main.js /tmp/s3rver 4568 cdb-bench &
//   AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER
//     build/bin/s3_load_bench --s3-endpoint http://127.0.0.1:4568 --bucket cdb-bench
// (each pair of lines is one command).
// The last stdout line is one JSON object.
#include <cxxopts.hpp>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "common/command_line.h"
#include "common/thread_pool.h"
#include "storage/blob_store.h"
#include "storage/s3/s3_client.h"
#include "storage/tensor_codec.h"
#include "storage_bench_support.h"

namespace {

using cdb::bench::Timing;
using cdb::bench::time_reps;

std::vector<int64_t> parse_ints(const std::string& s) {
  std::vector<int64_t> out;
  size_t pos = 0;
  while (pos < s.size()) {
    const size_t comma = s.find(',', pos);
    out.push_back(std::stoll(s.substr(pos, comma - pos)));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

// Wall seconds of a shell command, or -1 when it fails.
double time_command(const std::string& command) {
  const auto t0 = cdb::bench::Clock::now();
  const int rc = std::system(command.c_str());
  const double s = cdb::bench::seconds_since(t0);
  return rc == 0 ? s : -1;
}

// The endpoint's ceiling without our client: the curl tool fetching the
// object to /dev/null, as one GET and as `connections` concurrent ranged
// GETs. Credentials go in a mode-600 config file, not on a command line.
nlohmann::json curl_ceiling(const cdb::S3Options& o, const std::string& key, size_t bytes, int connections, int reps,
                            const std::filesystem::path& dir) {
  const auto config = dir / "curl.conf";
  {
    std::ofstream f(config);
    f << "user = \"" << o.credentials.access_key << ":" << o.credentials.secret_key << "\"\n";
  }
  ::chmod(config.c_str(), 0600);
  const std::string url = o.endpoint + "/" + o.bucket + "/" + key;
  const std::string base = "curl -sf -o /dev/null -K '" + config.string() + "' --aws-sigv4 'aws:amz:" + o.region +
                           ":s3' -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' ";
  nlohmann::json out;
  double best1 = 1e9, bestn = 1e9;
  for (int r = 0; r < reps; ++r) {
    best1 = std::min(best1, time_command(base + "'" + url + "'"));
    std::string par = "(";
    const size_t range = (bytes + connections - 1) / connections;
    for (int i = 0; i < connections; ++i) {
      const size_t a = i * range, b = std::min(bytes, a + range) - 1;
      par += base + "-r " + std::to_string(a) + "-" + std::to_string(b) + " '" + url + "' & ";
    }
    par += "wait)";
    bestn = std::min(bestn, time_command(par));
  }
  std::filesystem::remove(config);
  out["curl_one_get_GBps"] = best1 > 0 ? bytes / best1 / 1e9 : -1;
  out["curl_parallel_ranges_GBps"] = bestn > 0 ? bytes / bestn / 1e9 : -1;
  out["curl_parallel_ranges"] = connections;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  cxxopts::Options cli("s3_load_bench", "Cartridge load throughput: S3 ranged parallel GETs vs LMDB");
  cli.add_options()("json", "print only the JSON result line")(
      "s3-endpoint", "S3 endpoint URL (e.g. http://127.0.0.1:4568)", cxxopts::value<std::string>())(
      "s3-region", "S3 region", cxxopts::value<std::string>()->default_value("us-east-1"))(
      "bucket", "bucket (must exist)", cxxopts::value<std::string>()->default_value("cdb-bench"))(
      "tokens", "cartridge tokens (2048: 235 MB)", cxxopts::value<int64_t>()->default_value("2048"))(
      "reps", "repetitions (min and median are reported)", cxxopts::value<int>()->default_value("3"))(
      "connections", "S3 connection counts to measure", cxxopts::value<std::string>()->default_value("1,4,8,16"))(
      "range-mib", "bytes per ranged GET, MiB", cxxopts::value<size_t>()->default_value("8"))(
      "threads", "decode threads", cxxopts::value<int>()->default_value("2"))(
      "dir", "scratch directory for LMDB", cxxopts::value<std::string>()->default_value(""))("h,help", "help");
  cxxopts::ParseResult args;
  if (auto status = cdb::parse_command_line(cli, argc, argv, args)) return *status;
  if (!args.count("s3-endpoint")) {
    std::fprintf(stderr, "s3_load_bench: --s3-endpoint is required (see the comment at the top of s3_load_bench.cpp)\n");
    return 2;
  }
  const bool verbose = !args.count("json");
  const int reps = args["reps"].as<int>();
  const int threads = args["threads"].as<int>();
  const std::filesystem::path dir =
      args["dir"].as<std::string>().empty()
          ? std::filesystem::temp_directory_path() / ("cdb-s3-load-bench-" + std::to_string(::getpid()))
          : std::filesystem::path(args["dir"].as<std::string>());
  std::filesystem::create_directories(dir);

  const std::vector<int64_t> shape = cdb::bench::llama3b_cartridge_shape(args["tokens"].as<int64_t>());
  const std::vector<uint16_t> data = cdb::bench::synthetic_normal_bf16(shape);
  const size_t raw = data.size() * 2;
  cdb::ThreadPool pool(threads);
  cdb::CodecOptions codec;
  codec.threads = threads;
  const std::string blob = cdb::encode_tensor({cdb::DType::BF16, shape, data.data()}, codec, pool);

  nlohmann::json result;
  result["bench"] = "s3_load";
  result["hardware_threads"] = std::thread::hardware_concurrency();
  result["load_average_before"] = cdb::bench::load_average();
  result["raw_bytes"] = raw;
  result["stored_bytes"] = blob.size();
  result["decode_threads"] = threads;

  const auto check = [&](const cdb::DecodedTensor& d) {
    if (std::memcmp(d.data(), data.data(), raw) != 0) throw std::runtime_error("s3_load_bench: decoded bytes differ");
  };
  const auto record = [&](const std::string& name, const Timing& t, size_t bytes) {
    result[name + "_GBps_min_time"] = bytes / t.min() / 1e9;
    result[name + "_GBps_median"] = bytes / t.median_wall() / 1e9;
    if (verbose)
      std::fprintf(stderr, "%-34s %.2f GB/s (min time), %.2f GB/s (median)\n", name.c_str(), bytes / t.min() / 1e9,
                   bytes / t.median_wall() / 1e9);
  };

  {  // LMDB
    cdb::BlobStore store(dir / "lmdb");
    store.put("cart/1/kv", blob);
    const Timing lmdb = time_reps(reps, [&] {
      auto txn = store.read();
      const std::string_view b = txn.at("cart/1/kv");
      cdb::DecodedTensor d(cdb::DType::BF16, shape);
      cdb::decode_tensor_into(b, d.data(), d.bytes(), "cart/1/kv", pool);
      check(d);
    });
    record("lmdb_load", lmdb, raw);
  }
  std::filesystem::remove_all(dir / "lmdb");

  cdb::S3Options o;
  o.endpoint = args["s3-endpoint"].as<std::string>();
  o.region = args["s3-region"].as<std::string>();
  o.bucket = args["bucket"].as<std::string>();
  o.credentials = cdb::S3Credentials::from_env();
  o.range_bytes = args["range-mib"].as<size_t>() << 20;
  o.request_timeout_ms = 120000;
  const std::string key = "bench/cart/1/kv";
  {
    cdb::S3Client client(o);
    const Timing put = time_reps(1, [&] { client.put(key, blob); });
    result["s3_put_MBps"] = blob.size() / put.min() / 1e6;
    if (verbose) std::fprintf(stderr, "%-34s %.0f MB/s (multipart)\n", "s3_put", blob.size() / put.min() / 1e6);
  }
  int most = 1;
  for (int64_t n : parse_ints(args["connections"].as<std::string>())) {
    o.connections = static_cast<int>(n);
    most = std::max(most, o.connections);
    cdb::S3Client client(o);
    const std::string tag = "s3_c" + std::to_string(n);
    const Timing transfer = time_reps(reps, [&] {
      cdb::DecodedTensor buf(cdb::DType::U8, {static_cast<int64_t>(blob.size())});
      client.get_parallel_into(key, static_cast<char*>(buf.data()), blob.size());
    });
    record(tag + "_transfer_stored", transfer, blob.size());
    const Timing load = time_reps(reps, [&] {
      cdb::DecodedTensor buf(cdb::DType::U8, {static_cast<int64_t>(blob.size())});
      client.get_parallel_into(key, static_cast<char*>(buf.data()), blob.size());
      cdb::DecodedTensor d(cdb::DType::BF16, shape);
      cdb::decode_tensor_into({static_cast<const char*>(buf.data()), blob.size()}, d.data(), d.bytes(), key, pool);
      check(d);
    });
    record(tag + "_load", load, raw);
  }
  const nlohmann::json ceiling = curl_ceiling(o, key, blob.size(), most, reps, dir);
  result["endpoint_ceiling_stored"] = ceiling;
  if (verbose)
    std::fprintf(stderr, "%-34s one GET %.2f GB/s, %d ranges at once %.2f GB/s (stored bytes)\n", "curl tool alone",
                 ceiling["curl_one_get_GBps"].get<double>(), most, ceiling["curl_parallel_ranges_GBps"].get<double>());
  cdb::S3Client(o).remove(key);
  std::filesystem::remove_all(dir);
  result["load_average_after"] = cdb::bench::load_average();
  std::printf("%s\n", result.dump().c_str());
  return 0;
}
