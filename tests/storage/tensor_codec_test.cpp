#include "storage/tensor_codec.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "common/error.h"
#include "common/hash.h"
#include "storage/byte_shuffle.h"

namespace cdb {
namespace {

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng() & 0x0f);  // compressible but not constant
  return v;
}

int64_t numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

void round_trip(DType dtype, std::vector<int64_t> shape, const CodecOptions& opt, uint32_t seed = 1) {
  const size_t bytes = static_cast<size_t>(numel(shape)) * dtype_size(dtype);
  auto data = random_bytes(bytes, seed);
  TensorView v{dtype, shape, data.data()};
  std::string blob = encode_tensor(v, opt);
  TensorHeader h = read_header(blob, "t");
  EXPECT_EQ(h.dtype, dtype);
  EXPECT_EQ(h.shape, shape);
  EXPECT_EQ(h.uncompressed_bytes, bytes);
  DecodedTensor d = decode_tensor(blob, "t", opt.threads);
  EXPECT_EQ(d.dtype(), dtype);
  EXPECT_EQ(d.shape(), shape);
  ASSERT_EQ(d.bytes(), bytes);
  EXPECT_EQ(0, bytes ? std::memcmp(d.data(), data.data(), bytes) : 0)
      << dtype_name(dtype) << " shuffle=" << opt.shuffle << " chunk=" << opt.chunk_bytes;
}

TEST(ByteShuffle, InverseForEveryElementSize) {
  for (size_t es : {1, 2, 4, 8}) {
    for (size_t n : {0, 1, 7, 4096, 4097, 10000}) {
      auto src = random_bytes(n * es, static_cast<uint32_t>(n + es));
      std::vector<uint8_t> sh(n * es), back(n * es);
      byte_shuffle(src.data(), sh.data(), n, es);
      if (es == 2 && n > 1) {
        EXPECT_EQ(sh[0], src[0]);
        EXPECT_EQ(sh[n], src[1]);  // plane 1 starts with byte 1 of element 0
        EXPECT_EQ(sh[1], src[2]);
      }
      byte_unshuffle(sh.data(), back.data(), n, es);
      EXPECT_EQ(src, back) << "elem_size " << es << " n " << n;
    }
  }
}

TEST(ByteShuffle, PlanesAtTheirOwnAddresses) {
  for (size_t es : {1, 2, 4, 8}) {
    const size_t n = 1003;
    auto src = random_bytes(n * es, static_cast<uint32_t>(es));
    std::vector<uint8_t> sh(n * es), back(n * es, 0);
    byte_shuffle(src.data(), sh.data(), n, es);
    // Each plane copied to its own allocation, as raw planes in a blob and
    // decompressed planes in scratch are.
    std::vector<std::vector<uint8_t>> copies;
    const uint8_t* planes[8];
    for (size_t b = 0; b < es; ++b) {
      copies.emplace_back(sh.begin() + b * n, sh.begin() + (b + 1) * n);
    }
    for (size_t b = 0; b < es; ++b) planes[b] = copies[b].data();
    byte_unshuffle_planes(planes, back.data(), n, es);
    EXPECT_EQ(src, back) << "elem_size " << es;
  }
}

std::vector<uint16_t> normal_bf16(size_t n, uint32_t seed) {
  std::vector<uint16_t> v(n);
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0, 1);
  for (auto& x : v) {
    float f = dist(rng);
    uint32_t u;
    std::memcpy(&u, &f, 4);
    x = static_cast<uint16_t>(u >> 16);
  }
  return v;
}

// The mantissa bytes of normal values are close to random: that plane is
// stored raw, the exponent plane as zstd, and both decode exactly.
TEST(TensorCodec, RandomMantissaPlaneIsStoredRaw) {
  const auto data = normal_bf16(300000, 5);
  CodecOptions opt;
  opt.chunk_bytes = 64 << 10;
  opt.threads = 2;
  const std::string blob = encode_tensor({DType::BF16, {300000}, data.data()}, opt);
  const TensorHeader h = read_header(blob, "t");
  ASSERT_EQ(h.planes_per_chunk, 2);
  ASSERT_EQ(h.planes.size(), h.chunks.size() * 2);
  for (size_t i = 0; i < h.chunks.size(); ++i) {
    EXPECT_EQ(h.planes[2 * i].encoding, PlaneEncoding::Raw) << "chunk " << i;
    EXPECT_EQ(h.planes[2 * i].stored_bytes, h.chunk_size(i) / 2);
    EXPECT_EQ(h.planes[2 * i + 1].encoding, PlaneEncoding::Zstd) << "chunk " << i;
    EXPECT_LT(h.planes[2 * i + 1].stored_bytes, h.chunk_size(i) / 2 / 2) << "the exponent plane compresses > 2x";
    EXPECT_NE(h.chunks[i].decoded_checksum, 0u);
  }
  std::vector<uint16_t> back(data.size());
  decode_tensor_into(blob, back.data(), back.size() * 2, "t", 2);
  EXPECT_EQ(back, data);
  EXPECT_NO_THROW(verify_tensor(blob, "t", 1));

  // A threshold no plane can meet stores everything raw: the blob is the
  // payload plus the header, and it still round trips.
  opt.min_plane_saving = 0.9;
  const std::string all_raw = encode_tensor({DType::BF16, {300000}, data.data()}, opt);
  const TensorHeader hr = read_header(all_raw, "t");
  for (const auto& p : hr.planes) EXPECT_EQ(p.encoding, PlaneEncoding::Raw);
  for (const auto& c : hr.chunks) EXPECT_EQ(c.decoded_checksum, 0u);
  EXPECT_EQ(all_raw.size(), hr.header_bytes + data.size() * 2);
  std::fill(back.begin(), back.end(), 0);
  decode_tensor_into(all_raw, back.data(), back.size() * 2, "t", 1);
  EXPECT_EQ(back, data);

  // With no threshold, zstd is kept wherever it saves a single byte.
  opt.min_plane_saving = 0;
  const std::string eager = encode_tensor({DType::BF16, {300000}, data.data()}, opt);
  EXPECT_LE(eager.size(), blob.size());
  EXPECT_EQ(decode_tensor(eager, "t").as_string(),
            std::string_view(reinterpret_cast<const char*>(data.data()), data.size() * 2));
}

TEST(TensorCodec, PlaneThresholdOutOfRangeIsRefused) {
  float x = 1;
  for (double bad : {-0.1, 1.0, 2.0}) {
    CodecOptions opt;
    opt.min_plane_saving = bad;
    EXPECT_THROW(encode_tensor({DType::F32, {1}, &x}, opt), InvalidArgument) << bad;
  }
  CodecOptions big;
  big.chunk_bytes = (size_t{1} << 30) + 4;
  EXPECT_THROW(encode_tensor({DType::F32, {1}, &x}, big), InvalidArgument);
}

// A flipped byte inside a plane that is stored raw (never passes through
// zstd) is caught by the chunk checksum, naming the key and the chunk.
TEST(TensorCodec, CorruptedRawPlaneIsCorruptDataNamingKeyAndChunk) {
  const auto data = normal_bf16(200000, 6);
  CodecOptions opt;
  opt.chunk_bytes = 64 << 10;
  const std::string blob = encode_tensor({DType::BF16, {200000}, data.data()}, opt);
  const TensorHeader h = read_header(blob, "k");
  for (size_t chunk : {size_t{0}, size_t{3}, h.chunks.size() - 1}) {
    const PlaneInfo& raw = h.planes[2 * chunk];
    ASSERT_EQ(raw.encoding, PlaneEncoding::Raw);
    for (uint64_t at : {uint64_t{0}, raw.stored_bytes / 2, raw.stored_bytes - 1}) {
      std::string bad = blob;
      bad[raw.offset + at] ^= 0x01;  // one mantissa bit: any decoder would accept the bytes
      std::vector<uint16_t> out(data.size());
      try {
        decode_tensor_into(bad, out.data(), out.size() * 2, "cart/abc/k0", 2);
        FAIL() << "flip in raw plane of chunk " << chunk << " not detected";
      } catch (const CorruptData& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("cart/abc/k0"), std::string::npos) << msg;
        EXPECT_NE(msg.find("chunk " + std::to_string(chunk) + " of"), std::string::npos) << msg;
      }
    }
  }
}

// Rewrites a header field and re-seals the header checksum, as a buggy
// writer (not a disk error) would: only the deeper checksums can tell.
std::string reseal(std::string blob, size_t pos, uint64_t value) {
  std::memcpy(blob.data() + pos, &value, 8);
  uint32_t header_bytes;
  std::memcpy(&header_bytes, blob.data() + 16, 4);
  std::string header = blob.substr(0, header_bytes);
  std::memset(header.data() + 48, 0, 8);
  const uint64_t sum = xxh3_64(header);
  std::memcpy(blob.data() + 48, &sum, 8);
  return blob;
}

TEST(TensorCodec, DecodedPlaneChecksumAndPayloadChecksumAreChecked) {
  const auto data = normal_bf16(50000, 8);
  CodecOptions opt;
  opt.chunk_bytes = 32 << 10;
  const std::string blob = encode_tensor({DType::BF16, {50000}, data.data()}, opt);
  const TensorHeader h = read_header(blob, "k");
  const size_t table = kTensorFixedHeaderBytes + 8 * h.shape.size();
  const size_t entry = 16 + 8 * h.planes_per_chunk;
  std::vector<uint16_t> out(data.size());
  // Chunk 2's decoded-bytes checksum.
  const std::string bad_decoded = reseal(blob, table + 2 * entry + 8, h.chunks[2].decoded_checksum ^ 1);
  ASSERT_NO_THROW(read_header(bad_decoded, "k"));
  try {
    decode_tensor_into(bad_decoded, out.data(), out.size() * 2, "tok/9/k", 1);
    FAIL();
  } catch (const CorruptData& e) {
    EXPECT_NE(std::string(e.what()).find("tok/9/k: decompressed bytes of chunk 2 of"), std::string::npos) << e.what();
  }
  // The whole-payload checksum: reads skip it (the chunk checksums cover
  // the bytes), verify_tensor checks it.
  const std::string bad_payload = reseal(blob, 40, h.checksum ^ 1);
  EXPECT_NO_THROW(decode_tensor_into(bad_payload, out.data(), out.size() * 2, "k", 1));
  EXPECT_EQ(out, data);
  EXPECT_NO_THROW(verify_tensor(blob, "k"));
  try {
    verify_tensor(bad_payload, "doc/3/x");
    FAIL();
  } catch (const CorruptData& e) {
    EXPECT_NE(std::string(e.what()).find("doc/3/x: payload checksum"), std::string::npos) << e.what();
  }
}

TEST(TensorCodec, RoundTripEveryPlaneThreshold) {
  for (DType t : {DType::F32, DType::BF16, DType::I64, DType::U8}) {
    for (double saving : {0.0, 0.03, 0.5, 0.99}) {
      CodecOptions opt;
      opt.min_plane_saving = saving;
      opt.chunk_bytes = 1000;
      opt.threads = 2;
      round_trip(t, {7, 301}, opt, 3);
      opt.compress = false;
      round_trip(t, {7, 301}, opt, 4);
    }
  }
}

TEST(TensorCodec, RoundTripEveryDtypeShuffleAndChunkSize) {
  for (DType t : {DType::F32, DType::BF16, DType::F16, DType::I32, DType::I64, DType::U8}) {
    for (bool shuffle : {false, true}) {
      for (size_t chunk : {size_t{8}, size_t{1000}, size_t{65536}, size_t{8} << 20}) {
        CodecOptions opt;
        opt.shuffle = shuffle;
        opt.chunk_bytes = chunk;
        opt.threads = 2;
        round_trip(t, {3, 5, 17}, opt);
        round_trip(t, {0}, opt);         // empty
        round_trip(t, {4, 0, 3}, opt);   // empty with other dims
        round_trip(t, {}, opt);          // 0-d scalar
        round_trip(t, {2049}, opt, 7);
      }
    }
  }
}

TEST(TensorCodec, RawCodecRoundTrips) {
  CodecOptions opt;
  opt.compress = false;
  opt.chunk_bytes = 100;
  round_trip(DType::F32, {10, 10}, opt);
  round_trip(DType::BF16, {33}, opt);
}

TEST(TensorCodec, LargeTensorOver64MiBInParallelChunks) {
  const int64_t n = (65ll << 20) / 2 + 123;  // > 64 MiB of bf16
  std::vector<uint16_t> data(static_cast<size_t>(n));
  std::mt19937 rng(3);
  std::normal_distribution<float> dist(0, 1);
  for (auto& x : data) {
    float f = dist(rng);
    uint32_t u;
    std::memcpy(&u, &f, 4);
    x = static_cast<uint16_t>(u >> 16);
  }
  CodecOptions opt;
  opt.threads = 2;
  std::string blob = encode_tensor({DType::BF16, {n}, data.data()}, opt);
  TensorHeader h = read_header(blob, "big");
  EXPECT_EQ(h.chunks.size(), (data.size() * 2 + opt.chunk_bytes - 1) / opt.chunk_bytes);
  EXPECT_GT(h.chunks.size(), 2u);  // several chunks, decoded in parallel
  EXPECT_LT(blob.size(), data.size() * 2);  // the shuffle makes bf16 compress
  std::vector<uint16_t> back(data.size());
  decode_tensor_into(blob, back.data(), back.size() * 2, "big", 2);
  EXPECT_EQ(0, std::memcmp(back.data(), data.data(), back.size() * 2));
}

TEST(TensorCodec, FlippedByteAnywhereIsCorruptData) {
  auto data = random_bytes(40000, 9);
  CodecOptions opt;
  opt.chunk_bytes = 4096;
  const std::string blob = encode_tensor({DType::F32, {10000}, data.data()}, opt);
  std::mt19937 rng(11);
  for (int trial = 0; trial < 200; ++trial) {
    std::string bad = blob;
    size_t pos = trial < 100 ? rng() % blob.size() : rng() % 300;  // half in the header area
    bad[pos] = static_cast<char>(bad[pos] ^ (1 << (rng() % 8)));
    std::vector<uint8_t> out(40000);
    try {
      decode_tensor_into(bad, out.data(), out.size(), "key-xyz", 1);
      FAIL() << "flip at " << pos << " not detected";
    } catch (const CorruptData& e) {
      EXPECT_NE(std::string(e.what()).find("key-xyz"), std::string::npos) << e.what();
    } catch (const Unsupported& e) {
      EXPECT_LT(pos, 10u) << "only a flipped version field may read as Unsupported";
    }
  }
}

TEST(TensorCodec, TruncatedBlobIsCorruptData) {
  auto data = random_bytes(1000, 2);
  const std::string blob = encode_tensor({DType::U8, {1000}, data.data()});
  for (size_t len : {size_t{0}, size_t{10}, size_t{55}, size_t{60}, blob.size() - 1}) {
    EXPECT_THROW(read_header(std::string_view(blob).substr(0, len), "k"), CorruptData) << len;
    EXPECT_THROW(decode_tensor(std::string_view(blob).substr(0, len), "k"), CorruptData) << len;
  }
  try {
    read_header(std::string_view(blob).substr(0, 20), "doc/1/abc");
    FAIL();
  } catch (const CorruptData& e) {
    EXPECT_NE(std::string(e.what()).find("doc/1/abc"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos);
  }
}

TEST(TensorCodec, BadInputsGiveClearErrors) {
  float x = 0;
  EXPECT_THROW(parse_dtype("float128"), InvalidArgument);
  EXPECT_EQ(parse_dtype("bfloat16"), DType::BF16);
  EXPECT_THROW(dtype_from_code(0, "t"), InvalidArgument);
  EXPECT_THROW(dtype_from_code(7, "t"), InvalidArgument);
  EXPECT_THROW(encode_tensor({DType::F32, {2, -1}, &x}), InvalidArgument);
  EXPECT_THROW(encode_tensor({DType::F32, {int64_t{1} << 40, int64_t{1} << 40}, &x}), InvalidArgument);
  EXPECT_THROW(encode_tensor({DType::F32, std::vector<int64_t>(17, 1), &x}), InvalidArgument);
  EXPECT_THROW(encode_tensor({DType::F32, {4}, nullptr}), InvalidArgument);
  CodecOptions bad_level;
  bad_level.level = 99;
  EXPECT_THROW(encode_tensor({DType::F32, {1}, &x}, bad_level), InvalidArgument);
  try {
    encode_tensor({DType::F32, {2, -3}, &x});
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("dimension 1"), std::string::npos) << e.what();
  }
  // Wrong destination size.
  std::string blob = encode_tensor({DType::F32, {1}, &x});
  float y[2];
  EXPECT_THROW(decode_tensor_into(blob, y, sizeof y, "k", 1), InvalidArgument);
  // Not a tensor at all.
  EXPECT_THROW(read_header(std::string(100, 'x'), "k"), CorruptData);
}

}  // namespace
}  // namespace cdb
