// Cartridge bookkeeping: bytes(), compose() order and validation.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "common/error.h"
#include "engine/cartridge.h"

namespace cdb {
namespace {

Cartridge make(int64_t layers, int64_t kv, int64_t p, int64_t hd, float fill, at::ScalarType dt = at::kFloat) {
  Cartridge c;
  for (int64_t l = 0; l < layers; ++l) {
    c.keys.push_back(at::full({kv, p, hd}, fill + static_cast<float>(l), at::TensorOptions().dtype(dt)));
    c.values.push_back(at::full({kv, p, hd}, -fill - static_cast<float>(l), at::TensorOptions().dtype(dt)));
  }
  return c;
}

TEST(Cartridge, BytesCountsKeysAndValuesOfAllLayers) {
  EXPECT_EQ(make(3, 2, 5, 4, 1).bytes(), 3 * 2 * (2 * 5 * 4) * 4);
  EXPECT_EQ(make(2, 2, 5, 4, 1, at::kBFloat16).bytes(), 2 * 2 * (2 * 5 * 4) * 2);
  EXPECT_EQ(Cartridge{}.bytes(), 0);
  EXPECT_TRUE(Cartridge{}.empty());
}

TEST(Cartridge, ComposeConcatenatesInOrder) {
  Cartridge a = make(2, 2, 3, 4, 1), b = make(2, 2, 5, 4, 10), empty;
  Cartridge ab = compose({&a, &empty, &b});
  ASSERT_EQ(ab.layers(), 2);
  EXPECT_EQ(ab.tokens(), 8);
  for (int64_t l = 0; l < 2; ++l) {
    EXPECT_TRUE(at::equal(ab.keys[l].narrow(1, 0, 3), a.keys[l]));
    EXPECT_TRUE(at::equal(ab.keys[l].narrow(1, 3, 5), b.keys[l]));
    EXPECT_TRUE(at::equal(ab.values[l].narrow(1, 0, 3), a.values[l]));
    EXPECT_TRUE(at::equal(ab.values[l].narrow(1, 3, 5), b.values[l]));
  }
  Cartridge ba = compose({&b, &a});
  EXPECT_TRUE(at::equal(ba.keys[1].narrow(1, 0, 5), b.keys[1]));
  EXPECT_EQ(compose({&a}).tokens(), 3);
  EXPECT_TRUE(compose({}).empty());
  EXPECT_EQ(ab.bytes(), a.bytes() + b.bytes());
}

TEST(Cartridge, ComposeRejectsIncompatibleParts) {
  Cartridge a = make(2, 2, 3, 4, 1);
  Cartridge layers = make(3, 2, 3, 4, 1), heads = make(2, 1, 3, 4, 1), dim = make(2, 2, 3, 8, 1);
  Cartridge dtype = make(2, 2, 3, 4, 1, at::kBFloat16);
  EXPECT_THROW(compose({&a, &layers}), InvalidArgument);
  EXPECT_THROW(compose({&a, &heads}), InvalidArgument);
  EXPECT_THROW(compose({&a, &dim}), InvalidArgument);
  EXPECT_THROW(compose({&a, &dtype}), InvalidArgument);
  EXPECT_THROW(compose({&a, nullptr}), InvalidArgument);
}

}  // namespace
}  // namespace cdb
