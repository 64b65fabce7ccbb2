// The shape of a Llama-family model: everything the forward pass needs to
// know except the weights. Filled by the loaders (llama2.c header, HF
// config.json) and hashed into the model fingerprint.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cdb {

enum class Arch { Llama, Qwen2, Qwen3 };

// How RoPE pairs the dimensions of a head.
//  Interleaved: (0,1), (2,3), ...            llama2.c / Meta original layout
//  Half:        (i, i + head_dim/2)          Hugging Face "rotate_half" layout
// The two are equivalent up to a permutation of the rows of wq and wk, which
// `cartridge convert` applies.
enum class RopeStyle { Interleaved, Half };

struct RopeScaling {
  std::string type = "none";  // "none" or "llama3"
  double factor = 1.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 8192;
};

struct ModelConfig {
  Arch arch = Arch::Llama;
  int64_t dim = 0;          // hidden size
  int64_t hidden_dim = 0;   // MLP intermediate size
  int64_t n_layers = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;     // usually dim / n_heads; Qwen3 sets it explicitly
  int64_t vocab_size = 0;
  int64_t max_seq_len = 0;  // context window
  double norm_eps = 1e-5;
  double rope_theta = 10000.0;
  RopeStyle rope_style = RopeStyle::Half;
  RopeScaling rope_scaling;
  bool tied_embeddings = false;
  bool qkv_bias = false;    // Qwen2
  bool qk_norm = false;     // Qwen3: RMSNorm on each head of q and k
  int64_t bos_id = 1;
  std::vector<int64_t> eos_ids = {2};
  std::string weight_dtype = "f32";  // as stored: f32, bf16, f16
};

const char* arch_name(Arch a);

}  // namespace cdb
