// The one place where LibTorch tensors meet the storage layer's torch-free
// tensor format (storage/tensor_codec.h).
#pragma once

#include <ATen/core/Tensor.h>

#include <string_view>

#include "storage/dtype.h"
#include "storage/tensor_codec.h"

namespace cdb {

DType to_dtype(at::ScalarType t);           // Unsupported for types the store lacks
at::ScalarType to_scalar_type(DType t);

// A view of a contiguous CPU tensor (InvalidArgument otherwise); valid as
// long as the tensor is.
TensorView tensor_view(const at::Tensor& t);

// Decodes a stored tensor straight into a new CPU tensor's buffer.
at::Tensor decode_to_tensor(std::string_view blob, std::string_view what, int threads = 0);

// Moves a decoded buffer into a CPU tensor without copying.
at::Tensor to_tensor(DecodedTensor&& decoded);

}  // namespace cdb
