#include "storage/tensor_codec.h"

#include <sys/mman.h>
#include <zstd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>

#include "common/error.h"
#include "common/hash.h"
#include "common/thread_pool.h"
#include "storage/byte_shuffle.h"

namespace cdb {

namespace {

constexpr char kMagic[8] = {'C', 'D', 'B', 'T', 'E', 'N', 'S', 'R'};
constexpr size_t kChunkEntryBytes = 16;  // stored checksum, decoded checksum
constexpr size_t kPlaneEntryBytes = 8;   // stored size (u32), encoding (u8), 3 reserved
constexpr size_t kHeaderChecksumOffset = 48;

template <typename T>
void put_le(std::string& out, size_t pos, T v) {
  std::memcpy(out.data() + pos, &v, sizeof v);  // host is little-endian (byte_shuffle.cpp)
}
template <typename T>
T get_le(std::string_view in, size_t pos) {
  T v;
  std::memcpy(&v, in.data() + pos, sizeof v);
  return v;
}

std::string label(std::string_view what) { return what.empty() ? std::string("tensor blob") : std::string(what); }

uint64_t table_bytes(uint64_t n_chunks, uint64_t planes) { return n_chunks * (kChunkEntryBytes + kPlaneEntryBytes * planes); }

struct ZstdCCtx {
  ZSTD_CCtx* p = ZSTD_createCCtx();
  ~ZstdCCtx() { ZSTD_freeCCtx(p); }
};
struct ZstdDCtx {
  ZSTD_DCtx* p = ZSTD_createDCtx();
  ~ZstdDCtx() { ZSTD_freeDCtx(p); }
};

// Per-worker scratch, allocated on first use by that worker.
struct Scratch {
  std::unique_ptr<uint8_t[]> buf;
  size_t size = 0;
  uint8_t* get(size_t n) {
    if (size < n) {
      buf.reset(new uint8_t[n]);
      size = n;
    }
    return buf.get();
  }
};

uint64_t header_checksum(std::string_view header) {
  // xxh3-64 of the header with its own checksum field read as zero.
  static constexpr char kZero[8] = {};
  Xxh3Stream h;
  h.update(header.data(), kHeaderChecksumOffset);
  h.update(kZero, 8);
  h.update(header.data() + kHeaderChecksumOffset + 8, header.size() - kHeaderChecksumOffset - 8);
  return h.digest();
}

// One encoded chunk: its planes back to back, and the table entries.
struct EncodedChunk {
  std::string bytes;
  uint64_t checksum = 0;
  uint64_t decoded_checksum = 0;
  std::vector<uint32_t> plane_bytes;
  std::vector<PlaneEncoding> encodings;
};

}  // namespace

int64_t checked_numel(const std::vector<int64_t>& shape, DType dtype, std::string_view what) {
  if (shape.size() > kTensorMaxRank)
    throw InvalidArgument(label(what) + ": rank " + std::to_string(shape.size()) + " exceeds the maximum of " +
                          std::to_string(kTensorMaxRank));
  const uint64_t limit = static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / dtype_size(dtype);
  uint64_t n = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] < 0)
      throw InvalidArgument(label(what) + ": dimension " + std::to_string(i) + " is negative (" +
                            std::to_string(shape[i]) + ")");
    uint64_t d = static_cast<uint64_t>(shape[i]);
    if (d != 0 && n > limit / d)
      throw InvalidArgument(label(what) + ": shape overflows 64-bit byte size at dimension " + std::to_string(i));
    n *= d;
  }
  // A zero dimension makes later overflow impossible but the shape must still
  // be checked for negatives, which the loop above did.
  return static_cast<int64_t>(n);
}

int64_t TensorHeader::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string TensorHeader::shape_string() const {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

uint64_t TensorHeader::chunk_size(size_t i) const {
  return std::min<uint64_t>(chunk_bytes, uncompressed_bytes - i * chunk_bytes);
}

std::string encode_tensor(const TensorView& t, const CodecOptions& opt) {
  ThreadPool pool(opt.threads);
  return encode_tensor(t, opt, pool);
}

std::string encode_tensor(const TensorView& t, const CodecOptions& opt, ThreadPool& pool) {
  const size_t esize = dtype_size(t.dtype);
  const uint64_t total = static_cast<uint64_t>(checked_numel(t.shape, t.dtype, "tensor to encode")) * esize;
  if (total > 0 && t.data == nullptr) throw InvalidArgument("encode_tensor: data is null for a non-empty tensor");
  if (opt.compress && (opt.level < ZSTD_minCLevel() || opt.level > ZSTD_maxCLevel()))
    throw InvalidArgument("zstd level " + std::to_string(opt.level) + " is out of range [" +
                          std::to_string(ZSTD_minCLevel()) + ", " + std::to_string(ZSTD_maxCLevel()) + "]");
  if (!(opt.min_plane_saving >= 0 && opt.min_plane_saving < 1))
    throw InvalidArgument("min_plane_saving must be within [0, 1), got " + std::to_string(opt.min_plane_saving));
  if (opt.chunk_bytes < esize) throw InvalidArgument("chunk_bytes must be at least one element");
  if (opt.chunk_bytes > kTensorMaxChunkBytes)
    throw InvalidArgument("chunk_bytes " + std::to_string(opt.chunk_bytes) + " exceeds the maximum of " +
                          std::to_string(kTensorMaxChunkBytes));
  // Chunks hold whole elements so each shuffles on its own.
  const uint64_t chunk = opt.chunk_bytes / esize * esize;
  const size_t n_chunks = total == 0 ? 0 : static_cast<size_t>((total + chunk - 1) / chunk);
  if (n_chunks > std::numeric_limits<uint32_t>::max()) throw InvalidArgument("tensor needs too many chunks");
  const Filter filter = (opt.shuffle && esize > 1) ? Filter::ByteShuffle : Filter::None;
  const size_t n_planes = filter == Filter::ByteShuffle ? esize : 1;
  const Codec codec = opt.compress ? Codec::Zstd : Codec::None;
  const auto* src = static_cast<const uint8_t*>(t.data);

  std::vector<EncodedChunk> chunks(n_chunks);
  std::vector<Scratch> shuffled(pool.size()), compressed(pool.size());
  std::vector<std::optional<ZstdCCtx>> cctx(pool.size());
  pool.parallel_for(n_chunks, [&](size_t i, int w) {
    const uint64_t off = i * chunk;
    const size_t len = static_cast<size_t>(std::min<uint64_t>(chunk, total - off));
    const size_t plane_len = len / n_planes;
    const uint8_t* in = src + off;
    if (filter == Filter::ByteShuffle) {
      uint8_t* sh = shuffled[w].get(len);
      byte_shuffle(in, sh, len / esize, esize);
      in = sh;
    }
    EncodedChunk& out = chunks[i];
    out.bytes.reserve(len);
    Xxh3Stream decoded;
    bool any_zstd = false;
    for (size_t p = 0; p < n_planes; ++p) {
      const uint8_t* plane = in + p * plane_len;
      size_t n = 0;
      if (codec == Codec::Zstd) {
        if (!cctx[w]) cctx[w].emplace();
        if (!cctx[w]->p) throw IoError("zstd: cannot allocate a compression context");
        const size_t bound = ZSTD_compressBound(plane_len);
        uint8_t* buf = compressed[w].get(bound);
        n = ZSTD_compressCCtx(cctx[w]->p, buf, bound, plane, plane_len, opt.level);
        if (ZSTD_isError(n)) throw IoError(std::string("zstd compression failed: ") + ZSTD_getErrorName(n));
        const bool pays = n < plane_len && static_cast<double>(plane_len - n) >= opt.min_plane_saving * plane_len;
        if (pays) {
          out.bytes.append(reinterpret_cast<const char*>(buf), n);
          out.plane_bytes.push_back(static_cast<uint32_t>(n));
          out.encodings.push_back(PlaneEncoding::Zstd);
          decoded.update(plane, plane_len);
          any_zstd = true;
          continue;
        }
      }
      out.bytes.append(reinterpret_cast<const char*>(plane), plane_len);
      out.plane_bytes.push_back(static_cast<uint32_t>(plane_len));
      out.encodings.push_back(PlaneEncoding::Raw);
    }
    out.checksum = xxh3_64(out.bytes);
    out.decoded_checksum = any_zstd ? decoded.digest() : 0;
  });

  const size_t header_bytes = kTensorFixedHeaderBytes + 8 * t.shape.size() + table_bytes(n_chunks, n_planes);
  size_t blob_bytes = header_bytes;
  for (const auto& c : chunks) blob_bytes += c.bytes.size();
  std::string blob(blob_bytes, '\0');
  std::memcpy(blob.data(), kMagic, 8);
  put_le<uint16_t>(blob, 8, kTensorFormatVersion);
  put_le<uint8_t>(blob, 10, static_cast<uint8_t>(t.dtype));
  put_le<uint8_t>(blob, 11, static_cast<uint8_t>(codec));
  put_le<uint8_t>(blob, 12, static_cast<uint8_t>(filter));
  put_le<uint8_t>(blob, 13, static_cast<uint8_t>(t.shape.size()));
  put_le<uint8_t>(blob, 14, static_cast<uint8_t>(n_planes));
  put_le<uint8_t>(blob, 15, 0);
  put_le<uint32_t>(blob, 16, static_cast<uint32_t>(header_bytes));
  put_le<uint32_t>(blob, 20, static_cast<uint32_t>(n_chunks));
  put_le<uint64_t>(blob, 24, total);
  put_le<uint64_t>(blob, 32, chunk);
  put_le<uint64_t>(blob, 40, xxh3_64(src, total));
  size_t pos = kTensorFixedHeaderBytes;
  for (int64_t d : t.shape) put_le<int64_t>(blob, pos, d), pos += 8;
  for (const auto& c : chunks) {
    put_le<uint64_t>(blob, pos, c.checksum);
    put_le<uint64_t>(blob, pos + 8, c.decoded_checksum);
    pos += kChunkEntryBytes;
    for (size_t p = 0; p < n_planes; ++p) {
      put_le<uint32_t>(blob, pos, c.plane_bytes[p]);
      put_le<uint8_t>(blob, pos + 4, static_cast<uint8_t>(c.encodings[p]));
      pos += kPlaneEntryBytes;  // reserved bytes stay zero
    }
  }
  put_le<uint64_t>(blob, kHeaderChecksumOffset, header_checksum(std::string_view(blob).substr(0, header_bytes)));
  for (const auto& c : chunks) {
    std::memcpy(blob.data() + pos, c.bytes.data(), c.bytes.size());
    pos += c.bytes.size();
  }
  return blob;
}

TensorHeader read_header(std::string_view blob, std::string_view what) {
  const std::string name = label(what);
  auto corrupt = [&](const std::string& why) { return CorruptData(name + ": " + why); };
  if (blob.size() < kTensorFixedHeaderBytes)
    throw corrupt("truncated header (" + std::to_string(blob.size()) + " bytes, need at least " +
                  std::to_string(kTensorFixedHeaderBytes) + ")");
  if (std::memcmp(blob.data(), kMagic, 8) != 0) throw corrupt("bad magic: not a cartridgedb tensor blob");
  TensorHeader h;
  h.version = get_le<uint16_t>(blob, 8);
  if (h.version != kTensorFormatVersion)
    throw Unsupported(name + ": tensor format version " + std::to_string(h.version) +
                      " is not supported by this build (it reads version " + std::to_string(kTensorFormatVersion) +
                      ")");
  const uint8_t dtype_code = get_le<uint8_t>(blob, 10);
  const uint8_t codec = get_le<uint8_t>(blob, 11);
  const uint8_t filter = get_le<uint8_t>(blob, 12);
  const uint8_t rank = get_le<uint8_t>(blob, 13);
  const uint8_t n_planes = get_le<uint8_t>(blob, 14);
  const uint32_t header_bytes = get_le<uint32_t>(blob, 16);
  const uint32_t n_chunks = get_le<uint32_t>(blob, 20);
  if (rank > kTensorMaxRank) throw corrupt("rank " + std::to_string(rank) + " exceeds " + std::to_string(kTensorMaxRank));
  if (n_planes < 1 || n_planes > 8) throw corrupt("bad planes per chunk " + std::to_string(n_planes));
  const uint64_t expect_header = kTensorFixedHeaderBytes + 8ull * rank + table_bytes(n_chunks, n_planes);
  if (header_bytes != expect_header) throw corrupt("inconsistent header size");
  if (blob.size() < header_bytes)
    throw corrupt("truncated header (" + std::to_string(blob.size()) + " of " + std::to_string(header_bytes) +
                  " bytes)");
  if (header_checksum(blob.substr(0, header_bytes)) != get_le<uint64_t>(blob, kHeaderChecksumOffset))
    throw corrupt("header checksum mismatch");
  // Past the checksum, a bad field is a writer bug or a deliberate forgery;
  // still refuse it rather than index out of bounds.
  try {
    h.dtype = dtype_from_code(dtype_code, name);
  } catch (const InvalidArgument& e) {
    throw CorruptData(e.what());
  }
  if (codec > static_cast<uint8_t>(Codec::Zstd)) throw corrupt("unknown codec " + std::to_string(codec));
  if (filter > static_cast<uint8_t>(Filter::ByteShuffle)) throw corrupt("unknown filter " + std::to_string(filter));
  if (get_le<uint8_t>(blob, 15) != 0) throw corrupt("reserved header byte is not zero");
  h.codec = static_cast<Codec>(codec);
  h.filter = static_cast<Filter>(filter);
  h.planes_per_chunk = n_planes;
  h.uncompressed_bytes = get_le<uint64_t>(blob, 24);
  h.chunk_bytes = get_le<uint64_t>(blob, 32);
  h.checksum = get_le<uint64_t>(blob, 40);
  h.header_bytes = header_bytes;
  size_t pos = kTensorFixedHeaderBytes;
  h.shape.resize(rank);
  for (auto& d : h.shape) d = get_le<int64_t>(blob, pos), pos += 8;
  int64_t numel;
  try {
    numel = checked_numel(h.shape, h.dtype, name);
  } catch (const InvalidArgument& e) {
    throw CorruptData(e.what());
  }
  const size_t esize = dtype_size(h.dtype);
  if (n_planes != (h.filter == Filter::ByteShuffle ? esize : 1))
    throw corrupt("planes per chunk (" + std::to_string(n_planes) + ") do not match the dtype and filter");
  if (static_cast<uint64_t>(numel) * esize != h.uncompressed_bytes) throw corrupt("shape does not match payload size");
  if (h.chunk_bytes == 0 || h.chunk_bytes % esize != 0 || h.chunk_bytes > kTensorMaxChunkBytes)
    throw corrupt("bad chunk size " + std::to_string(h.chunk_bytes));
  const uint64_t want_chunks = (h.uncompressed_bytes + h.chunk_bytes - 1) / h.chunk_bytes;
  if (want_chunks != n_chunks) throw corrupt("chunk count does not match payload size");
  uint64_t off = header_bytes;
  h.chunks.resize(n_chunks);
  h.planes.resize(size_t{n_chunks} * n_planes);
  for (size_t i = 0; i < n_chunks; ++i) {
    ChunkInfo& c = h.chunks[i];
    c.offset = off;
    c.checksum = get_le<uint64_t>(blob, pos);
    c.decoded_checksum = get_le<uint64_t>(blob, pos + 8);
    pos += kChunkEntryBytes;
    const uint64_t plane_len = h.chunk_size(i) / n_planes;
    for (size_t p = 0; p < n_planes; ++p) {
      PlaneInfo& pl = h.planes[i * n_planes + p];
      pl.offset = off;
      pl.stored_bytes = get_le<uint32_t>(blob, pos);
      const uint8_t enc = get_le<uint8_t>(blob, pos + 4);
      if (get_le<uint8_t>(blob, pos + 5) != 0 || get_le<uint16_t>(blob, pos + 6) != 0)
        throw corrupt("reserved bytes of chunk " + std::to_string(i) + " plane " + std::to_string(p) + " are not zero");
      pos += kPlaneEntryBytes;
      if (enc == static_cast<uint8_t>(PlaneEncoding::Raw)) {
        if (pl.stored_bytes != plane_len)
          throw corrupt("raw plane " + std::to_string(p) + " of chunk " + std::to_string(i) + " has " +
                        std::to_string(pl.stored_bytes) + " bytes, expected " + std::to_string(plane_len));
      } else if (enc == static_cast<uint8_t>(PlaneEncoding::Zstd) && h.codec == Codec::Zstd) {
        if (pl.stored_bytes == 0) throw corrupt("empty zstd plane in chunk " + std::to_string(i));
      } else {
        throw corrupt("bad encoding " + std::to_string(enc) + " for plane " + std::to_string(p) + " of chunk " +
                      std::to_string(i));
      }
      pl.encoding = static_cast<PlaneEncoding>(enc);
      if (pl.stored_bytes > blob.size() - off) throw corrupt("truncated: chunk data runs past the end of the blob");
      off += pl.stored_bytes;
    }
    c.stored_bytes = off - c.offset;
  }
  if (off != blob.size())
    throw corrupt("blob has " + std::to_string(blob.size() - off) + " trailing bytes after the last chunk");
  return h;
}

void decode_tensor_into(std::string_view blob, void* dst, size_t dst_bytes, std::string_view what, int threads) {
  ThreadPool pool(threads);
  decode_tensor_into(blob, dst, dst_bytes, what, pool);
}

void decode_tensor_into(std::string_view blob, void* dst, size_t dst_bytes, std::string_view what, ThreadPool& pool) {
  const std::string name = label(what);
  const TensorHeader h = read_header(blob, name);
  if (dst_bytes != h.uncompressed_bytes)
    throw InvalidArgument(name + ": destination holds " + std::to_string(dst_bytes) + " bytes, tensor " +
                          h.shape_string() + " " + std::string(dtype_name(h.dtype)) + " needs " +
                          std::to_string(h.uncompressed_bytes));
  const size_t n_planes = h.planes_per_chunk;
  auto* out = static_cast<uint8_t*>(dst);
  const auto* base = reinterpret_cast<const uint8_t*>(blob.data());
  std::vector<Scratch> scratch(pool.size());
  std::vector<std::optional<ZstdDCtx>> dctx(pool.size());
  pool.parallel_for(h.chunks.size(), [&](size_t i, int w) {
    const ChunkInfo& c = h.chunks[i];
    const uint64_t off = i * h.chunk_bytes;
    const size_t len = static_cast<size_t>(h.chunk_size(i));
    const size_t plane_len = len / n_planes;
    auto chunk_name = [&] { return "chunk " + std::to_string(i) + " of " + std::to_string(h.chunks.size()); };
    if (xxh3_64(base + c.offset, c.stored_bytes) != c.checksum)
      throw CorruptData(name + ": checksum mismatch in " + chunk_name() + " (blob offset " + std::to_string(c.offset) +
                        ")");
    // zstd planes are decompressed back to back into scratch (or, for an
    // unshuffled chunk, straight into dst); raw planes are used in place.
    const uint8_t* planes[8];
    uint8_t* decoded = nullptr;
    size_t decoded_len = 0;
    for (size_t p = 0; p < n_planes; ++p) {
      const PlaneInfo& pl = h.planes[i * n_planes + p];
      if (pl.encoding == PlaneEncoding::Raw) {
        planes[p] = base + pl.offset;
        continue;
      }
      if (!decoded) decoded = n_planes == 1 ? out + off : scratch[w].get(len);
      if (!dctx[w]) dctx[w].emplace();
      if (!dctx[w]->p) throw IoError("zstd: cannot allocate a decompression context");
      uint8_t* target = decoded + decoded_len;
      size_t n = ZSTD_decompressDCtx(dctx[w]->p, target, plane_len, base + pl.offset, pl.stored_bytes);
      if (ZSTD_isError(n) || n != plane_len)
        throw CorruptData(name + ": plane " + std::to_string(p) + " of " + chunk_name() + " does not decompress to " +
                          std::to_string(plane_len) + " bytes" +
                          (ZSTD_isError(n) ? std::string(" (") + ZSTD_getErrorName(n) + ")" : ""));
      planes[p] = target;
      decoded_len += plane_len;
    }
    if (decoded && xxh3_64(decoded, decoded_len) != c.decoded_checksum)
      throw CorruptData(name + ": decompressed bytes of " + chunk_name() + " fail their checksum");
    if (n_planes == 1) {
      if (!decoded) std::memcpy(out + off, planes[0], len);
    } else {
      byte_unshuffle_planes(planes, out + off, plane_len, n_planes);
    }
  });
}

void verify_tensor(std::string_view blob, std::string_view what, int threads) {
  const DecodedTensor t = decode_tensor(blob, what, threads);
  if (xxh3_64(t.data(), t.bytes()) != read_header(blob, what).checksum)
    throw CorruptData(label(what) + ": payload checksum mismatch after decompression");
}

namespace {
constexpr size_t kHugePage = size_t{2} << 20;
}  // namespace

void DecodedTensor::Free::operator()(void* p) const { std::free(p); }

DecodedTensor::DecodedTensor(DType dtype, std::vector<int64_t> shape)
    : dtype_(dtype), shape_(std::move(shape)) {
  bytes_ = static_cast<size_t>(checked_numel(shape_, dtype_, "decoded tensor")) * dtype_size(dtype_);
  // aligned_alloc needs a size that is a multiple of the alignment.
  const size_t align = bytes_ >= kHugePage ? kHugePage : 64;
  const size_t alloc = (bytes_ + align - 1) / align * align + align;
  data_.reset(std::aligned_alloc(align, alloc));
  if (!data_) throw IoError("out of memory allocating " + std::to_string(bytes_) + " bytes for a decoded tensor");
  // Advice only: where transparent huge pages are off or unavailable the
  // buffer simply stays on 4 KiB pages.
  if (align == kHugePage) ::madvise(data_.get(), alloc, MADV_HUGEPAGE);
}

int64_t DecodedTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape_) n *= d;
  return n;
}

DecodedTensor decode_tensor(std::string_view blob, std::string_view what, int threads) {
  const TensorHeader h = read_header(blob, what);
  DecodedTensor t(h.dtype, h.shape);
  decode_tensor_into(blob, t.data(), t.bytes(), what, threads);
  return t;
}

}  // namespace cdb
