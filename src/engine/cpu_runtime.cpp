#include "engine/cpu_runtime.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <malloc.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace cdb {

bool keep_tensor_memory_mapped(int mmap_threshold) {
  static std::once_flag once;
  static bool applied = false;
  std::call_once(once, [mmap_threshold] {
    const char* off = std::getenv("CDB_KEEP_GLIBC_MALLOC");
    if (off != nullptr && std::strcmp(off, "1") == 0) return;
#if defined(__GLIBC__)
    // A fixed threshold also stops glibc's dynamic one, which starts at
    // 128 KiB and only rises after a large block has been freed. 32 MiB is
    // the highest glibc accepts on 64-bit.
    const bool mmap_ok = mallopt(M_MMAP_THRESHOLD, std::min(mmap_threshold, 32 << 20)) == 1;
    // Never trim the heap's top; grow it 64 MiB at a time.
    const bool trim_ok = mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1;
    const bool pad_ok = mallopt(M_TOP_PAD, 64 << 20) == 1;
    applied = mmap_ok && trim_ok && pad_ok;
#endif
  });
  return applied;
}

void set_compute_threads(int threads) {
  if (threads < 1) threads = 1;
  at::set_num_threads(threads);
  using SetThreads = void (*)(int);
  if (auto* set_blas = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
    set_blas(threads);
}

}  // namespace cdb
