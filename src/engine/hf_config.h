// Hugging Face config.json <-> ModelConfig, for LlamaForCausalLM (Llama 2,
// 3.x with rope_scaling "llama3"), Qwen2ForCausalLM (q/k/v biases) and
// Qwen3ForCausalLM (per-head q/k RMSNorm, explicit head_dim).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "engine/model_config.h"

namespace cdb {

// "LlamaForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM".
const std::vector<std::string>& supported_hf_architectures();
const char* hf_architecture_name(Arch a);

// Parses config.json text; `source` names the file in errors. Throws
// CorruptData (bad JSON, a missing or ill-typed field, inconsistent heads),
// Unsupported (another architecture, the message listing the supported ones;
// rope scaling other than llama3; biases or activations the engine lacks).
// The result has rope_style Half, the HF convention. bos_id is -1 when the
// config names none; weight_dtype follows torch_dtype until the loader sees
// the tensors.
ModelConfig parse_hf_config(std::string_view json_text, const std::string& source);
// Reads and parses the file (NotFound when it is missing).
ModelConfig read_hf_config(const std::filesystem::path& config_json);

// A config.json that parse_hf_config reads back to the same ModelConfig
// (max_seq_len as max_position_embeddings). Throws InvalidArgument for an
// Interleaved-RoPE config: HF layout means rotate-half, so the weights must be
// permuted first (see model_writer.h).
std::string hf_config_json(const ModelConfig& config);

}  // namespace cdb
