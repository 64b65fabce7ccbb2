// Element types a stored tensor can have. The numeric codes are part of the
// on-disk tensor format (docs/storage-format.md): never renumber them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace cdb {

enum class DType : uint8_t {
  F32 = 1,
  BF16 = 2,
  F16 = 3,
  I32 = 4,
  I64 = 5,
  U8 = 6,
};

// Bytes per element.
size_t dtype_size(DType t);

// "f32", "bf16", "f16", "i32", "i64", "u8".
std::string_view dtype_name(DType t);

// Parses a name from dtype_name (also accepts "float32", "bfloat16",
// "float16", "int32", "int64", "uint8"). InvalidArgument lists the choices.
DType parse_dtype(std::string_view name);

// Validates an on-disk code; InvalidArgument names `what` and the code.
DType dtype_from_code(uint8_t code, std::string_view what);

}  // namespace cdb
