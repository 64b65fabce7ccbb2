#include "engine/tensor_bridge.h"

#include <ATen/ATen.h>

#include <memory>

#include "common/error.h"

namespace cdb {

DType to_dtype(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return DType::F32;
    case at::kBFloat16: return DType::BF16;
    case at::kHalf: return DType::F16;
    case at::kInt: return DType::I32;
    case at::kLong: return DType::I64;
    case at::kByte: return DType::U8;
    default:
      throw Unsupported(std::string("tensors of type ") + c10::toString(t) +
                        " cannot be stored (supported: f32, bf16, f16, i32, i64, u8)");
  }
}

at::ScalarType to_scalar_type(DType t) {
  switch (t) {
    case DType::F32: return at::kFloat;
    case DType::BF16: return at::kBFloat16;
    case DType::F16: return at::kHalf;
    case DType::I32: return at::kInt;
    case DType::I64: return at::kLong;
    case DType::U8: return at::kByte;
  }
  throw InvalidArgument("unknown dtype code " + std::to_string(static_cast<int>(t)));
}

TensorView tensor_view(const at::Tensor& t) {
  if (!t.defined()) throw InvalidArgument("cannot store an undefined tensor");
  if (!t.device().is_cpu()) throw InvalidArgument("tensors are stored from CPU memory; copy it with .cpu() first");
  if (!t.is_contiguous()) throw InvalidArgument("tensors are stored contiguous; call .contiguous() first");
  return TensorView{to_dtype(t.scalar_type()), t.sizes().vec(), t.data_ptr()};
}

at::Tensor decode_to_tensor(std::string_view blob, std::string_view what, int threads) {
  // Through DecodedTensor: its large buffers are huge-page aligned, and a
  // first touch of fresh 4 KiB pages costs more than the decompression.
  return to_tensor(decode_tensor(blob, what, threads));
}

at::Tensor to_tensor(DecodedTensor&& decoded) {
  auto owner = std::make_shared<DecodedTensor>(std::move(decoded));
  void* data = owner->data();
  std::vector<int64_t> shape = owner->shape();
  at::ScalarType type = to_scalar_type(owner->dtype());
  if (owner->bytes() == 0) return at::empty(shape, at::TensorOptions().dtype(type));
  return at::from_blob(data, shape, [owner](void*) mutable { owner.reset(); },
                       at::TensorOptions().dtype(type));
}

}  // namespace cdb
