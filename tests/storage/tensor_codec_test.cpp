#include "storage/tensor_codec.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "common/error.h"
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
  EXPECT_EQ(h.chunks.size(), 9u);  // 65 MiB / 8 MiB, rounded up
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
