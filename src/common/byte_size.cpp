#include "common/byte_size.h"

#include <cstdio>
#include <cstdlib>

namespace cdb {

std::string format_bytes(int64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  const int64_t magnitude = std::llabs(bytes);
  size_t u = 0;
  int64_t unit = 1;
  while (u + 1 < std::size(kUnits) && magnitude >= unit * 1024) {
    unit *= 1024;
    ++u;
  }
  char b[48];
  if (bytes % unit == 0) std::snprintf(b, sizeof b, "%lld %s", static_cast<long long>(bytes / unit), kUnits[u]);
  else std::snprintf(b, sizeof b, "%.1f %s", static_cast<double>(bytes) / static_cast<double>(unit), kUnits[u]);
  return b;
}

}  // namespace cdb
