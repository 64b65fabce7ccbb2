// Loads a Hugging Face model directory (config.json + model.safetensors or
// sharded model-0000N-of-0000M.safetensors with model.safetensors.index.json)
// into the engine's LoadedModel. Weights stay as stored (f32/bf16/f16) and are
// views into the memory-mapped files; ModelWeights::backing keeps them mapped.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <vector>

#include "engine/model_weights.h"
#include "engine/safetensors_writer.h"

namespace cdb {

// Every tensor an HF checkpoint of `config` holds, with its name and shape,
// in model order (lm_head.weight only when the embeddings are untied).
// The loader checks files against it; the writers emit exactly it.
std::vector<SafetensorsSpec> hf_tensor_layout(const ModelConfig& config, at::ScalarType dtype);

// Throws NotFound (no directory, config.json or weights), Unsupported (an
// architecture other than supported_hf_architectures(), non-float weights),
// CorruptData (a tensor missing or of the wrong shape; the message names the
// file and the tensor), and whatever the safetensors reader throws.
// lm_head.weight absent means tied embeddings.
LoadedModel load_hf_model(const std::filesystem::path& dir);

}  // namespace cdb
