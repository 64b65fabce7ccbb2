// A chat model that runs in a test: the real Llama 3 tokenizer and chat
// template (from the npm test packages) on random weights of a tiny Llama 3
// shape with the full 128,256-token vocabulary. Its answers are noise, but
// every token id, special token and template boundary is the real model's,
// so the chat paths (synthesis, training, ASK) run end to end as they would
// on Llama 3 Instruct.
#pragma once

#include <filesystem>

#include "engine/model_config.h"
#include "engine/random_model.h"
#include "support/npm_packages.h"

namespace cdb::test {

inline constexpr int64_t kLlama3Vocab = 128256;

// Writes config.json + model.safetensors + tokenizer files into `dir`.
inline void write_tiny_chat_model(const std::filesystem::path& dir, uint64_t seed = 7) {
  ModelConfig c = random_model_config("tiny-llama3");
  c.vocab_size = kLlama3Vocab;
  c.weight_dtype = "f32";      // CPU products in bf16 are slow
  c.eos_ids = {128001, 128009};  // <|end_of_text|>, <|eot_id|> as in Llama 3 Instruct
  // A larger init than the real shapes' 0.02, so that what is in the
  // context (the chunk, the Cartridge) changes what the model predicts.
  write_random_model(c, seed, dir, 0.15f);
  const auto src = hf_model_dir("llama3");
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"})
    std::filesystem::copy_file(src / f, dir / f, std::filesystem::copy_options::overwrite_existing);
}

}  // namespace cdb::test
