// Helpers of the storage benches (storage_bench, s3_load_bench), free of
// LibTorch so that a storage-only bench builds without it: the synthetic
// Cartridge they all load, and timings over repetitions on a shared machine.
#pragma once

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace cdb::bench {

using Clock = std::chrono::steady_clock;
inline double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

inline double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec * 1e-9;
}

inline std::string load_average() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

// Timings over reps: the machine is shared, so min (the least disturbed
// run) and median are both reported, with process CPU time.
struct Timing {
  std::vector<double> wall, cpu;
  double min() const { return *std::min_element(wall.begin(), wall.end()); }
  static double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  }
  double median_wall() const { return median(wall); }
  double median_cpu() const { return median(cpu); }
};

template <typename F>
Timing time_reps(int reps, F&& f) {
  Timing t;
  for (int r = 0; r < reps; ++r) {
    const double c0 = process_cpu_seconds();
    auto t0 = Clock::now();
    f();
    t.wall.push_back(seconds_since(t0));
    t.cpu.push_back(process_cpu_seconds() - c0);
  }
  return t;
}

// bf16 by truncation-with-rounding of an f32, as torch's conversion does
// (round to nearest even).
inline uint16_t to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  u += 0x7fff + ((u >> 16) & 1);
  return static_cast<uint16_t>(u >> 16);
}

// A Llama-3.2-3B-shaped Cartridge of `tokens` tokens, [28 layers, 2 (K,V),
// 8 KV heads, tokens, 128 dims] in bf16 (235 MB at 2048 tokens), values
// N(0, 1) from a fixed seed.
inline std::vector<int64_t> llama3b_cartridge_shape(int64_t tokens) { return {28, 2, 8, tokens, 128}; }
inline std::vector<uint16_t> synthetic_normal_bf16(const std::vector<int64_t>& shape) {
  size_t n = 1;
  for (auto d : shape) n *= static_cast<size_t>(d);
  std::vector<uint16_t> data(n);
  std::mt19937_64 rng(42);
  std::normal_distribution<float> dist(0.f, 1.f);
  for (auto& x : data) x = to_bf16(dist(rng));
  return data;
}

}  // namespace cdb::bench
