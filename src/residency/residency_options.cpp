#include "residency/residency_options.h"

#include <unistd.h>

#include <string>

#include "common/error.h"

#ifdef CDB_WITH_CUDA
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <cuda_runtime_api.h>
#endif

namespace cdb {

int64_t default_cpu_budget_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page = ::sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) throw IoError("sysconf cannot tell the physical memory size; set a residency budget");
  return static_cast<int64_t>(pages) * page / 4;
}

namespace {

#ifdef CDB_WITH_CUDA
int64_t default_cuda_budget_bytes(at::Device device) {
  c10::cuda::CUDAGuard guard(device);
  size_t free_bytes = 0, total_bytes = 0;
  const cudaError_t rc = cudaMemGetInfo(&free_bytes, &total_bytes);
  if (rc != cudaSuccess)
    throw IoError(std::string("cudaMemGetInfo failed: ") + cudaGetErrorString(rc) + "; set a residency budget");
  return static_cast<int64_t>(free_bytes / 2);
}
#endif

}  // namespace

ResidencyOptions ResidencyOptions::resolved() const {
  if (device_budget_bytes < 0 || host_budget_bytes < 0)
    throw InvalidArgument("residency budgets must be >= 0 (0 chooses the default), got device " +
                          std::to_string(device_budget_bytes) + " and host " + std::to_string(host_budget_bytes));
  if (wait_timeout.count() < 0)
    throw InvalidArgument("residency wait_timeout must be >= 0 ms, got " + std::to_string(wait_timeout.count()));
  ResidencyOptions out = *this;
  if (device.is_cpu()) {
    if (out.device_budget_bytes == 0) out.device_budget_bytes = default_cpu_budget_bytes();
    out.host_budget_bytes = 0;
    return out;
  }
  if (!device.is_cuda()) throw Unsupported("residency: device " + device.str() + " is neither CPU nor CUDA");
#ifdef CDB_WITH_CUDA
  if (!device.has_index()) out.device = at::Device(at::kCUDA, c10::cuda::current_device());
  if (out.device_budget_bytes == 0) out.device_budget_bytes = default_cuda_budget_bytes(out.device);
  if (out.host_budget_bytes == 0) out.host_budget_bytes = default_cpu_budget_bytes();
  return out;
#else
  throw Unsupported("residency: device " + device.str() + " needs a CUDA build (LibTorch with CUDA)");
#endif
}

}  // namespace cdb
