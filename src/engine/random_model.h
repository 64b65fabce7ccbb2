// Seeded random-weight models in the real Hugging Face layout and the real
// dimensions of public checkpoints. The speed and memory of a forward pass do
// not depend on weight values, so these stand in for checkpoints that cannot
// be downloaded here. Same shape + seed + dtype = the same bytes on every
// machine: values come from our own generator (splitmix64), seeded per tensor
// by name, not from a library whose stream may change between versions.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "engine/model_config.h"

namespace cdb {

// Real shapes: "llama-3.2-1b", "llama-3.2-3b", "llama-3.1-8b", "qwen3-4b".
// Test shapes (tiny dimensions, same structure, for fast tests only):
// "tiny-llama3" (llama3 rope scaling, tied), "tiny-qwen2" (q/k/v biases,
// untied), "tiny-qwen3" (q/k norms, explicit head_dim != dim/heads).
std::vector<std::string> random_model_shapes();
bool is_test_shape(std::string_view shape);

// The config of a named shape (weight_dtype "bf16", as the real checkpoints
// ship). Throws InvalidArgument listing the known shapes.
ModelConfig random_model_config(std::string_view shape);

// Writes config.json and model.safetensors for `config` into `dir`, weights
// in config.weight_dtype ("f32", "bf16" or "f16"), one tensor (or slab of
// rows) at a time so memory stays small whatever the vocabulary. Linear
// weights and embeddings are uniform with std 0.02, biases likewise, norm
// weights 1 +- 0.02*sqrt(3): activations stay finite through any depth.
// `init_std` other than 0.02 (linear weights, embeddings, biases) is for
// tiny test shapes: at 0.02 and dim 64 attention is nearly uniform and the
// output hardly depends on the context; ~0.15 makes it depend on it.
void write_random_model(const ModelConfig& config, uint64_t seed, const std::filesystem::path& dir,
                        float init_std = 0.02f);

}  // namespace cdb
