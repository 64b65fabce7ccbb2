// format_bytes: the one way messages and tools write a byte count.
#include "common/byte_size.h"

#include <gtest/gtest.h>

namespace cdb {
namespace {

TEST(FormatBytes, UsesTheLargestBinaryUnitWithOneDecimalUnlessWhole) {
  EXPECT_EQ(format_bytes(0), "0 B");
  EXPECT_EQ(format_bytes(1023), "1023 B");
  EXPECT_EQ(format_bytes(1024), "1 KiB");
  EXPECT_EQ(format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(format_bytes(16ll << 20), "16 MiB");
  EXPECT_EQ(format_bytes((5ll << 30) / 2), "2.5 GiB");
  EXPECT_EQ(format_bytes((1ll << 40) + 1), "1.0 TiB");  // not whole: a decimal, rounded
  EXPECT_EQ(format_bytes(-2048), "-2 KiB");
}

}  // namespace
}  // namespace cdb
