#include "engine/cpu_runtime.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <malloc.h>

#include <cstdlib>
#include <cstring>

namespace cdb {
namespace {

// A block of the size of one layer's attention scores at 448 tokens.
constexpr size_t kScoreBlock = size_t{6} << 20;

TEST(CpuRuntime, TensorSizedBlocksComeFromTheHeapNotFromFreshMappings) {
  if (std::getenv("CDB_KEEP_GLIBC_MALLOC") != nullptr) GTEST_SKIP() << "CDB_KEEP_GLIBC_MALLOC is set";
  ASSERT_TRUE(keep_tensor_memory_mapped());
  const size_t mapped_before = mallinfo2().hblkhd;
  void* block = std::malloc(kScoreBlock);
  ASSERT_NE(block, nullptr);
  std::memset(block, 1, kScoreBlock);
  // glibc's default would have mmap'ed this block (threshold 128 KiB).
  EXPECT_EQ(mallinfo2().hblkhd, mapped_before);
  std::free(block);
  // Freed, it stays in the heap for the next step instead of going back.
  const size_t heap_after_free = mallinfo2().arena;
  void* again = std::malloc(kScoreBlock);
  EXPECT_EQ(mallinfo2().arena, heap_after_free);
  std::free(again);
}

TEST(CpuRuntime, ComputeThreadsReachLibTorchAndOpenBlas) {
  const int before = at::get_num_threads();
  set_compute_threads(1);
  EXPECT_EQ(at::get_num_threads(), 1);
  using GetThreads = int (*)();
  if (auto* blas = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"))) {
    EXPECT_EQ(blas(), 1);
  }
  set_compute_threads(0);  // clamped, not an error
  EXPECT_EQ(at::get_num_threads(), 1);
  set_compute_threads(before);
}

}  // namespace
}  // namespace cdb
