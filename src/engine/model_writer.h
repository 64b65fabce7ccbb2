// Writes a LoadedModel as a Hugging Face directory (config.json +
// model.safetensors) that load_hf_model reads back as the same function.
// Models with llama2.c's interleaved RoPE get their wq/wk rows (and q/k
// biases and norms, if any) permuted to the rotate-half layout, as HF's
// convert_llama_weights_to_hf.py does.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>

#include "engine/model_weights.h"

namespace cdb {

// Rows of a [n_heads*head_dim, ...] projection (or a [n_heads*head_dim]
// vector) reordered, within each head, from adjacent pairs (2i, 2i+1) to
// halves (i, i + head_dim/2).
at::Tensor interleaved_to_half(const at::Tensor& w, int64_t n_heads, int64_t head_dim);

// config.json for `config`, written atomically into `dir`.
void write_hf_config(const ModelConfig& config, const std::filesystem::path& dir);

// Creates `dir` if needed and writes config.json and model.safetensors with
// weights converted to `dtype` (kFloat, kBFloat16 or kHalf). Tied embeddings
// stay tied (no lm_head.weight). Throws InvalidArgument for another dtype or
// weights that do not match the config, IoError when writing fails.
void write_hf_model(const LoadedModel& model, const std::filesystem::path& dir,
                    at::ScalarType dtype = at::kFloat);

// Writes `text` to `path` through a temporary + fsync + rename.
void write_file_atomic(const std::filesystem::path& path, const std::string& text);

}  // namespace cdb
