// Budgets and limits of a ResidencyManager.
//
// Defaults (a budget of 0 means "choose"):
//  - device budget: 50% of the device's free memory on CUDA (measured when
//    the manager is built), 25% of physical RAM on CPU;
//  - host budget: on CUDA, 25% of physical RAM for decompressed Cartridges
//    kept in pinned memory. On CPU the device IS host memory, so a second
//    copy would only halve what fits: the host tier is off there and
//    host_budget_bytes is ignored.
#pragma once

#include <c10/core/Device.h>

#include <c10/core/ScalarType.h>

#include <chrono>
#include <cstdint>
#include <optional>

namespace cdb {

struct ResidencyOptions {
  at::Device device = at::kCPU;
  // The dtype Cartridges are resident in: the query model's, so that a
  // decode step reads them as they are instead of converting them (f32 as
  // trained, bf16 on a GPU) at every layer of every step. Converted once,
  // on load; the host tier keeps them as stored. Unset: as stored.
  std::optional<at::ScalarType> dtype;
  int64_t device_budget_bytes = 0;  // 0: default (see above)
  int64_t host_budget_bytes = 0;    // 0: default; ignored on CPU (no host tier)
  // How long acquire() waits for in-use Cartridges to be released before
  // giving up with ResourceExhausted.
  std::chrono::milliseconds wait_timeout{30000};

  // The options with defaults filled in, a CUDA device given its index, and
  // the host budget 0 on CPU. InvalidArgument for negative values;
  // Unsupported for a CUDA device in a build without CUDA.
  ResidencyOptions resolved() const;
};

// 25% of physical memory (sysconf), the CPU default.
int64_t default_cpu_budget_bytes();

}  // namespace cdb
