#include "engine/random_model.h"

#include <ATen/ATen.h>
#include <xxhash.h>

#include <cmath>

#include "common/error.h"
#include "engine/hf_model_loader.h"
#include "engine/model_writer.h"
#include "engine/safetensors_writer.h"

namespace cdb {

namespace {

ModelConfig llama3(int64_t dim, int64_t hidden, int64_t layers, int64_t heads, int64_t kv, int64_t vocab,
                   double factor, bool tied) {
  ModelConfig c;
  c.arch = Arch::Llama;
  c.dim = dim;
  c.hidden_dim = hidden;
  c.n_layers = layers;
  c.n_heads = heads;
  c.n_kv_heads = kv;
  c.head_dim = dim / heads;
  c.vocab_size = vocab;
  c.max_seq_len = 131072;
  c.norm_eps = 1e-5;
  c.rope_theta = 500000.0;
  c.rope_style = RopeStyle::Half;
  c.rope_scaling = RopeScaling{"llama3", factor, 1.0, 4.0, 8192};
  c.tied_embeddings = tied;
  c.bos_id = 128000;
  c.eos_ids = {128001};
  c.weight_dtype = "bf16";
  return c;
}

ModelConfig qwen(Arch arch, int64_t dim, int64_t hidden, int64_t layers, int64_t heads, int64_t kv,
                 int64_t head_dim, int64_t vocab, bool tied) {
  ModelConfig c;
  c.arch = arch;
  c.dim = dim;
  c.hidden_dim = hidden;
  c.n_layers = layers;
  c.n_heads = heads;
  c.n_kv_heads = kv;
  c.head_dim = head_dim;
  c.vocab_size = vocab;
  c.max_seq_len = 40960;
  c.norm_eps = 1e-6;
  c.rope_theta = 1000000.0;
  c.rope_style = RopeStyle::Half;
  c.tied_embeddings = tied;
  c.qkv_bias = arch == Arch::Qwen2;
  c.qk_norm = arch == Arch::Qwen3;
  c.bos_id = 151643;
  c.eos_ids = {151645};
  c.weight_dtype = "bf16";
  return c;
}

struct Shape {
  const char* name;
  bool test;
  ModelConfig (*make)();
};

// Dimensions as published in each checkpoint's config.json.
const Shape kShapes[] = {
    {"llama-3.2-1b", false, [] { return llama3(2048, 8192, 16, 32, 8, 128256, 32.0, true); }},
    {"llama-3.2-3b", false, [] { return llama3(3072, 8192, 28, 24, 8, 128256, 32.0, true); }},
    {"llama-3.1-8b", false, [] { return llama3(4096, 14336, 32, 32, 8, 128256, 8.0, false); }},
    {"qwen3-4b", false, [] { return qwen(Arch::Qwen3, 2560, 9728, 36, 32, 8, 128, 151936, true); }},
    {"tiny-llama3", true, [] { return llama3(64, 160, 2, 4, 2, 512, 32.0, true); }},
    {"tiny-qwen2", true, [] { return qwen(Arch::Qwen2, 64, 160, 2, 4, 2, 16, 512, false); }},
    {"tiny-qwen3", true, [] { return qwen(Arch::Qwen3, 64, 160, 2, 4, 2, 32, 512, true); }},
};

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

at::ScalarType dtype_of(const ModelConfig& c) {
  if (c.weight_dtype == "f32") return at::kFloat;
  if (c.weight_dtype == "bf16") return at::kBFloat16;
  if (c.weight_dtype == "f16") return at::kHalf;
  throw InvalidArgument("random model: dtype '" + c.weight_dtype + "' is not f32, bf16 or f16");
}

bool is_norm(const std::string& name) { return name.find("norm.weight") != std::string::npos; }

}  // namespace

std::vector<std::string> random_model_shapes() {
  std::vector<std::string> out;
  for (const auto& s : kShapes) out.emplace_back(s.name);
  return out;
}

bool is_test_shape(std::string_view shape) {
  for (const auto& s : kShapes)
    if (shape == s.name) return s.test;
  return false;
}

ModelConfig random_model_config(std::string_view shape) {
  for (const auto& s : kShapes)
    if (shape == s.name) return s.make();
  std::string known;
  for (const auto& s : kShapes) known += (known.empty() ? "" : ", ") + std::string(s.name);
  throw InvalidArgument("unknown model shape '" + std::string(shape) + "'; known shapes: " + known);
}

void write_random_model(const ModelConfig& config, uint64_t seed, const std::filesystem::path& dir, float init_std) {
  const at::ScalarType dtype = dtype_of(config);
  if (config.rope_style != RopeStyle::Half)
    throw InvalidArgument("random model: the HF layout uses rotate-half RoPE (RopeStyle::Half)");
  std::vector<SafetensorsSpec> layout = hf_tensor_layout(config, dtype);
  write_hf_config(config, dir);
  SafetensorsWriter writer(dir / "model.safetensors", layout);
  // Slabs of about 8M values bound memory for the 128K-row embeddings.
  constexpr int64_t kSlabElems = int64_t{1} << 23;
  if (!(init_std > 0.0f && init_std < 1.0f))
    throw InvalidArgument("random model: init_std must be in (0, 1), got " + std::to_string(init_std));
  // uniform[-a, a] has std a/sqrt(3); norm weights keep their 0.02 jitter.
  const float half_width = init_std * std::sqrt(3.0f), norm_half_width = 0.02f * std::sqrt(3.0f);
  std::vector<float> buf;
  for (const SafetensorsSpec& s : layout) {
    // Seeding by name (not by position in the stream) keeps each tensor's
    // values independent of which others exist, e.g. of --layers.
    uint64_t state = seed ^ XXH3_64bits(s.name.data(), s.name.size());
    const bool norm = is_norm(s.name);
    const int64_t rows = s.shape[0];
    int64_t row_elems = 1;
    for (size_t d = 1; d < s.shape.size(); ++d) row_elems *= s.shape[d];
    const int64_t rows_per_slab = std::max<int64_t>(1, kSlabElems / row_elems);
    for (int64_t r0 = 0; r0 < rows; r0 += rows_per_slab) {
      const int64_t n_rows = std::min(rows_per_slab, rows - r0);
      buf.resize(static_cast<size_t>(n_rows * row_elems));
      for (float& v : buf) {
        // 24 random bits -> u in [0, 1) exactly representable in f32.
        const float u = static_cast<float>(splitmix64(state) >> 40) * (1.0f / 16777216.0f);
        v = norm ? 1.0f + (2.0f * u - 1.0f) * norm_half_width : (2.0f * u - 1.0f) * half_width;
      }
      std::vector<int64_t> part_shape = s.shape;
      part_shape[0] = n_rows;
      writer.append(s.name, at::from_blob(buf.data(), part_shape, at::kFloat));
    }
  }
  writer.commit();
}

}  // namespace cdb
