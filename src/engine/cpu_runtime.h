// Process-wide settings of the CPU runtime under LibTorch: the C heap and
// the BLAS threads. Both are process state, like at::set_num_threads, and
// are set here only, with the measurement that justifies each.
#pragma once

namespace cdb {

// The C heap tuned for tensor work: freed tensor memory stays mapped in the
// process, so that the next step's tensors of the same sizes reuse it.
//
// Why: LibTorch's CPU allocator is plain malloc. With glibc's defaults a
// block above 128 KiB (a [heads, T, S] score matrix at T = S = 448 is
// 6.4 MB) is mmap'ed, and the top of the heap is given back to the kernel as
// soon as 128 KiB of it are free. Each forward then maps, faults in and
// unmaps its activations again, and on this project's machines (virtual
// machines whose page faults cost several microseconds) that was most of a
// stories260K prefill: `perf stat -e page-faults build/bin/engine_bench
// --contexts 448 --batches 1 --steps 1 --reps 5` counted 281,614 faults
// before and 24,860 after, and the 448-token prefill went from ~1,100 to
// ~19,000 tokens/s (docs/benchmarks.md).
//
// The cost: memory the process frees is kept for reuse rather than returned
// to the kernel, so the resident size stays at its peak (as a database's
// buffer pool does). Blocks above 32 MiB, the highest threshold glibc
// accepts, are still mapped and unmapped each time.
//
// The first call applies it (the first Transformer makes one); later calls
// do nothing. `mmap_threshold`: blocks from this size up are still mapped
// and given back when freed. `cartridge serve` calls it first with 4 MiB:
// there 16 MiB message bodies and document texts, freed once, matter more
// than the largest activations (twelve 16 MB ADD DOCUMENTs at once left its
// peak memory 856 MB higher with glibc's rising threshold, 339 MB with
// 4 MiB). A program that embeds the library and wants glibc's defaults sets
// CDB_KEEP_GLIBC_MALLOC=1 in its environment. Returns whether the tuning is
// in effect.
bool keep_tensor_memory_mapped(int mmap_threshold = 32 << 20);

// Intra-op threads for LibTorch and for the BLAS under it. LibTorch's
// setting does not reach OpenBLAS (Debian's libtorch calls it as a plain
// BLAS), whose pthread build keeps one thread per core that spins in
// sched_yield between calls. With LibTorch at one thread those spinners took
// a quarter of the samples of `perf record build/bin/selfstudy_bench --cost`
// and half its CPU time. OpenBLAS is found at run time (dlsym), since the
// BLAS is a Debian alternative: with another one only LibTorch is set.
void set_compute_threads(int threads);

}  // namespace cdb
