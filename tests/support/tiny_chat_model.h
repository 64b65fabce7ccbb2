// A chat model that runs in a test: the real Llama 3 (or Qwen3) tokenizer
// and chat template (from the npm test packages) on random weights of a tiny
// shape of that family with its full vocabulary. Its answers are noise, but
// every token id, special token and template boundary is the real model's,
// so the chat paths (synthesis, training, ASK) run end to end as they would
// on Llama 3 Instruct.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "engine/model_config.h"
#include "engine/random_model.h"
#include "support/npm_packages.h"

namespace cdb::test {

inline constexpr int64_t kLlama3Vocab = 128256;
inline constexpr int64_t kQwen3Vocab = 151936;

// Writes config.json + model.safetensors + tokenizer files into `dir`.
// family "llama3" (Llama 3 Instruct's template, <|eot_id|>) or "qwen3"
// (ChatML with Qwen3's <think> blocks, no BOS).
inline void write_tiny_chat_model(const std::filesystem::path& dir, uint64_t seed = 7,
                                  const std::string& family = "llama3") {
  const bool qwen = family == "qwen3";
  ModelConfig c = random_model_config(qwen ? "tiny-qwen3" : "tiny-llama3");
  c.vocab_size = qwen ? kQwen3Vocab : kLlama3Vocab;
  c.weight_dtype = "f32";  // CPU products in bf16 are slow
  // Llama 3 Instruct: <|end_of_text|>, <|eot_id|>; Qwen3: <|im_end|>, <|endoftext|>.
  c.eos_ids = qwen ? std::vector<int64_t>{151645, 151643} : std::vector<int64_t>{128001, 128009};
  // A larger init than the real shapes' 0.02, so that what is in the
  // context (the chunk, the Cartridge) changes what the model predicts.
  write_random_model(c, seed, dir, 0.15f);
  const auto src = hf_model_dir(family);
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"})
    std::filesystem::copy_file(src / f, dir / f, std::filesystem::copy_options::overwrite_existing);
}

}  // namespace cdb::test
