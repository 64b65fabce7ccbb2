#include "server/pg_types.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <utility>

namespace cdb::server {

namespace {

struct TypeName {
  const char* name;
  int32_t oid;
  int16_t size;
};

const TypeName kTypes[] = {
    {"bool", 16, 1},       {"bytea", 17, -1},       {"char", 18, 1},      {"name", 19, 64},
    {"int8", 20, 8},       {"int2", 21, 2},         {"int2vector", 22, -1}, {"int4", 23, 4},
    {"regproc", 24, 4},    {"text", 25, -1},        {"oid", 26, 4},       {"oidvector", 30, -1},
    {"json", 114, -1},     {"float4", 700, 4},      {"float8", 701, 8},   {"bpchar", 1042, -1},
    {"varchar", 1043, -1}, {"timestamptz", 1184, 8}, {"numeric", 1700, -1}, {"_text", 1009, -1},
    {"_int4", 1007, -1},   {"_int2", 1005, -1},     {"_oid", 1028, -1},   {"_char", 1002, -1},
    {"_name", 1003, -1},   {"_int8", 1016, -1},     {"_float8", 1022, -1}, {"_bool", 1000, -1},
};

constexpr int32_t kBool = 16, kInt8 = 20, kInt2 = 21, kInt4 = 23, kOid = 26, kFloat4 = 700, kFloat8 = 701,
                  kTimestamptz = 1184;

int64_t parse_int(int32_t oid, std::string_view s) {
  int64_t v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size())
    throw std::invalid_argument("value '" + std::string(s.substr(0, 40)) + "' of type OID " + std::to_string(oid) +
                                " is not an integer");
  return v;
}

double parse_double(std::string_view s) {
  const std::string t(s);
  char* end = nullptr;
  const double v = std::strtod(t.c_str(), &end);
  if (t.empty() || *end) throw std::invalid_argument("value '" + t.substr(0, 40) + "' is not a number");
  return v;
}

std::string big_endian(uint64_t v, int bytes) {
  std::string out(static_cast<size_t>(bytes), '\0');
  for (int i = bytes - 1; i >= 0; --i, v >>= 8) out[static_cast<size_t>(i)] = static_cast<char>(v & 0xff);
  return out;
}

// Days from 1970-01-01 to y-m-d (Howard Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// "YYYY-MM-DD[T ]HH:MM:SS[.ffffff][Z|+00]" -> microseconds since the Unix epoch (UTC).
int64_t parse_timestamp(std::string_view s) {
  auto num = [&](size_t at, size_t len) {
    if (at + len > s.size()) throw std::invalid_argument("timestamp '" + std::string(s) + "' is too short");
    return parse_int(kTimestamptz, s.substr(at, len));
  };
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' || s[16] != ':')
    throw std::invalid_argument("timestamp '" + std::string(s.substr(0, 40)) + "' is not ISO 8601");
  const int64_t days = days_from_civil(num(0, 4), static_cast<unsigned>(num(5, 2)), static_cast<unsigned>(num(8, 2)));
  int64_t us = ((days * 24 + num(11, 2)) * 60 + num(14, 2)) * 60 + num(17, 2);
  us *= 1'000'000;
  size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    int64_t frac = 0;
    int digits = 0;
    for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i)
      if (digits < 6) frac = frac * 10 + (s[i] - '0'), ++digits;
    while (digits++ < 6) frac *= 10;
    us += frac;
  }
  const std::string_view zone = s.substr(i);
  if (!(zone.empty() || zone == "Z" || zone == "+00" || zone == "+00:00"))
    throw std::invalid_argument("timestamp '" + std::string(s.substr(0, 40)) + "' is not in UTC");
  return us;
}

}  // namespace

int32_t type_oid(std::string_view name) {
  for (const auto& t : kTypes)
    if (name == t.name) return t.oid;
  return 25;
}

int16_t type_size(int32_t oid) {
  for (const auto& t : kTypes)
    if (t.oid == oid) return t.size;
  return -1;
}

bool has_binary(int32_t oid) {
  switch (oid) {
    case kBool: case kInt8: case kInt2: case kInt4: case kOid: case kFloat4: case kFloat8: case kTimestamptz:
    case 18: case 19: case 25: case 114: case 1042: case 1043:
      return true;
    default:
      return false;
  }
}

bool is_null(int32_t oid, std::string_view cell) {
  if (!cell.empty()) return false;
  switch (oid) {
    case 18: case 19: case 25: case 114: case 1042: case 1043: case 17: return false;
    default: return true;
  }
}

std::string text_value(int32_t oid, std::string_view cell) {
  if (oid == kBool) {
    if (cell == "1" || cell == "t" || cell == "true") return "t";
    if (cell == "0" || cell == "f" || cell == "false") return "f";
  }
  if (oid == kTimestamptz && cell.size() >= 19 && cell[10] == 'T') {
    std::string out(cell);
    out[10] = ' ';
    if (!out.empty() && out.back() == 'Z') {
      out.pop_back();
      out += "+00";
    }
    return out;
  }
  return std::string(cell);
}

std::string binary_value(int32_t oid, std::string_view cell) {
  switch (oid) {
    case kBool: return std::string(1, text_value(oid, cell) == "t" ? '\1' : '\0');
    case kInt8: return big_endian(static_cast<uint64_t>(parse_int(oid, cell)), 8);
    case kInt4: case kOid: return big_endian(static_cast<uint32_t>(parse_int(oid, cell)), 4);
    case kInt2: return big_endian(static_cast<uint16_t>(parse_int(oid, cell)), 2);
    case kFloat8: return big_endian(std::bit_cast<uint64_t>(parse_double(cell)), 8);
    case kFloat4: return big_endian(std::bit_cast<uint32_t>(static_cast<float>(parse_double(cell))), 4);
    case kTimestamptz: {
      // PostgreSQL's epoch is 2000-01-01 00:00:00 UTC, 946,684,800 s after Unix's.
      const int64_t us = parse_timestamp(cell) - int64_t{946'684'800} * 1'000'000;
      return big_endian(static_cast<uint64_t>(us), 8);
    }
    default:
      if (!has_binary(oid)) throw std::invalid_argument("no binary output for type OID " + std::to_string(oid));
      return std::string(cell);
  }
}

}  // namespace cdb::server
