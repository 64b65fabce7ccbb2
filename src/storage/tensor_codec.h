// The tensor codec: one tensor <-> one self-describing, checksummed blob.
//
// Format (version 1, little-endian; full description in
// docs/storage-format.md): a fixed 56-byte header (magic, format version,
// dtype, codec, filter, rank, planes per chunk, sizes, xxh3-64 of the
// uncompressed payload, xxh3-64 of the header itself), the shape, a chunk
// table, then the chunks. The payload is cut into chunks of `chunk_bytes`
// uncompressed bytes; each is byte-shuffled (plane b holds byte b of every
// element of the chunk, as in Blosc) and every plane of it is stored on its
// own: as one zstd frame, or raw when zstd would save too little (the
// random mantissa bytes of floats). Chunks encode and decode in parallel,
// a raw plane is read in place without a copy, and a reader stops at the
// first chunk that fails its checksums.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "storage/dtype.h"

namespace cdb {

class ThreadPool;

inline constexpr uint16_t kTensorFormatVersion = 1;
inline constexpr size_t kTensorFixedHeaderBytes = 56;
inline constexpr size_t kTensorMaxRank = 16;

// A borrowed, contiguous (row-major) tensor.
struct TensorView {
  DType dtype = DType::U8;
  std::vector<int64_t> shape;
  const void* data = nullptr;
};

struct CodecOptions {
  // zstd level. 1, not zstd's default 3: on the exponent plane of bf16 KV
  // values level 1 both compresses better (2.73x vs 2.43x) and decodes
  // faster, as level 3's match search turns random bytes into costly short
  // matches instead of entropy-coded literals.
  int level = 1;
  bool shuffle = true;        // byte-shuffle before compressing (no-op for u8)
  bool compress = true;       // false stores every plane raw (still checksummed)
  // A plane is stored raw unless zstd makes it at least this fraction
  // smaller: below a few percent the saved bytes do not pay for entropy
  // decoding on every read, while a raw plane is interleaved in place.
  double min_plane_saving = 0.03;
  // 1 MiB: a chunk's decoded planes and its output stay in L2/L3 between
  // decompressing, checksumming and unshuffling; the exponent plane's
  // ratio is the same as with 8 MiB chunks (zstd blocks are 128 KiB anyway).
  size_t chunk_bytes = size_t{1} << 20;
  int threads = 0;            // 0 = all cores
};

// Largest chunk_bytes: plane sizes are 32-bit in the chunk table.
inline constexpr size_t kTensorMaxChunkBytes = size_t{1} << 30;

enum class Codec : uint8_t { None = 0, Zstd = 1 };
enum class Filter : uint8_t { None = 0, ByteShuffle = 1 };
// How one plane of one chunk is stored.
enum class PlaneEncoding : uint8_t { Raw = 0, Zstd = 1 };

struct PlaneInfo {
  uint64_t offset = 0;           // from the start of the blob
  uint64_t stored_bytes = 0;
  PlaneEncoding encoding = PlaneEncoding::Raw;
};

struct ChunkInfo {
  uint64_t offset = 0;           // from the start of the blob
  uint64_t stored_bytes = 0;     // all its planes
  uint64_t checksum = 0;         // xxh3-64 of the stored bytes (all planes, back to back)
  // xxh3-64 of the decompressed bytes of its zstd planes, in plane order
  // (0 when every plane is raw: those are covered by `checksum`).
  uint64_t decoded_checksum = 0;
};

struct TensorHeader {
  uint16_t version = kTensorFormatVersion;
  DType dtype = DType::U8;
  Codec codec = Codec::Zstd;
  Filter filter = Filter::None;
  uint8_t planes_per_chunk = 1;  // the element size when shuffled, else 1
  std::vector<int64_t> shape;
  uint64_t uncompressed_bytes = 0;
  uint64_t chunk_bytes = 0;
  uint64_t checksum = 0;         // xxh3-64 of the whole uncompressed payload
  uint64_t header_bytes = 0;     // where chunk data starts
  std::vector<ChunkInfo> chunks;
  std::vector<PlaneInfo> planes;  // chunk i's planes are [i * planes_per_chunk, (i + 1) * planes_per_chunk)

  // Uncompressed bytes of chunk i.
  uint64_t chunk_size(size_t i) const;

  int64_t numel() const;
  std::string shape_string() const;  // "[2, 3]"
};

// Number of elements of `shape`; InvalidArgument (naming `what`) on a
// negative dimension, a rank over kTensorMaxRank, or a byte size that
// overflows for `dtype`.
int64_t checked_numel(const std::vector<int64_t>& shape, DType dtype, std::string_view what);

std::string encode_tensor(const TensorView& t, const CodecOptions& opt = {});
// As above on a caller-owned pool (its size replaces opt.threads).
std::string encode_tensor(const TensorView& t, const CodecOptions& opt, ThreadPool& pool);

// Parses and validates the header and chunk table without touching chunk
// data. CorruptData (naming `what`) on a bad magic, a truncated blob, a
// header checksum mismatch or inconsistent sizes; Unsupported on a newer
// format version.
TensorHeader read_header(std::string_view blob, std::string_view what);

// Verifies and decompresses into dst, which must hold exactly the tensor's
// uncompressed bytes (InvalidArgument otherwise). Checks every chunk's
// stored-bytes checksum before decoding it and the checksum of its
// decompressed planes after, while they are still in cache; CorruptData
// names `what` and the chunk. The whole-payload checksum is left to
// verify_tensor: it costs one more pass over the output, out of cache.
// dst holds unspecified bytes after a throw.
void decode_tensor_into(std::string_view blob, void* dst, size_t dst_bytes, std::string_view what,
                        int threads = 0);
void decode_tensor_into(std::string_view blob, void* dst, size_t dst_bytes, std::string_view what,
                        ThreadPool& pool);

// Verifies all checksums, the whole-payload checksum included, without
// keeping the decoded bytes.
void verify_tensor(std::string_view blob, std::string_view what, int threads = 0);

// A decoded tensor owning a 64-byte aligned buffer. Buffers of 2 MiB and
// more are 2 MiB aligned and advised for transparent huge pages, so that
// first touch by the decoder takes one page fault per 2 MiB, not per 4 KiB.
class DecodedTensor {
 public:
  DecodedTensor() = default;
  DecodedTensor(DType dtype, std::vector<int64_t> shape);

  DType dtype() const { return dtype_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  int64_t numel() const;
  size_t bytes() const { return bytes_; }
  void* data() { return data_.get(); }
  const void* data() const { return data_.get(); }
  TensorView view() const { return {dtype_, shape_, data_.get()}; }
  template <typename T>
  const T* as() const { return static_cast<const T*>(data()); }
  std::string_view as_string() const { return {static_cast<const char*>(data()), bytes_}; }

 private:
  struct Free {
    void operator()(void* p) const;
  };
  DType dtype_ = DType::U8;
  std::vector<int64_t> shape_;
  size_t bytes_ = 0;
  std::unique_ptr<void, Free> data_;
};

DecodedTensor decode_tensor(std::string_view blob, std::string_view what, int threads = 0);

}  // namespace cdb
