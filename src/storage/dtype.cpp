#include "storage/dtype.h"

#include "common/error.h"

namespace cdb {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::BF16: return 2;
    case DType::F16: return 2;
    case DType::I32: return 4;
    case DType::I64: return 8;
    case DType::U8: return 1;
  }
  throw InvalidArgument("unknown dtype code " + std::to_string(static_cast<int>(t)));
}

std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "f32";
    case DType::BF16: return "bf16";
    case DType::F16: return "f16";
    case DType::I32: return "i32";
    case DType::I64: return "i64";
    case DType::U8: return "u8";
  }
  throw InvalidArgument("unknown dtype code " + std::to_string(static_cast<int>(t)));
}

DType parse_dtype(std::string_view name) {
  struct Alias {
    std::string_view name;
    DType type;
  };
  static constexpr Alias kNames[] = {
      {"f32", DType::F32},     {"float32", DType::F32}, {"bf16", DType::BF16}, {"bfloat16", DType::BF16},
      {"f16", DType::F16},     {"float16", DType::F16}, {"i32", DType::I32},   {"int32", DType::I32},
      {"i64", DType::I64},     {"int64", DType::I64},   {"u8", DType::U8},     {"uint8", DType::U8},
  };
  for (const auto& a : kNames)
    if (a.name == name) return a.type;
  throw InvalidArgument("unknown dtype '" + std::string(name) + "'; expected one of f32, bf16, f16, i32, i64, u8");
}

DType dtype_from_code(uint8_t code, std::string_view what) {
  if (code < static_cast<uint8_t>(DType::F32) || code > static_cast<uint8_t>(DType::U8))
    throw InvalidArgument(std::string(what) + ": unknown dtype code " + std::to_string(code) +
                          " (this build knows codes 1..6: f32, bf16, f16, i32, i64, u8)");
  return static_cast<DType>(code);
}

}  // namespace cdb
