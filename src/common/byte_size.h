// Byte counts as people read them, in one style across messages and tools:
// binary units ("512 B", "1.5 KiB", "16 MiB", "2.3 GiB"), one decimal
// unless the count is a whole number of its unit.
#pragma once

#include <cstdint>
#include <string>

namespace cdb {

std::string format_bytes(int64_t bytes);

}  // namespace cdb
