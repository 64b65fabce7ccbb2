// config.json parsing for the three supported architectures, and loading +
// running small random models of each (Llama 3 with llama3 RoPE scaling,
// Qwen2 with q/k/v biases and untied embeddings, Qwen3 with q/k norms and an
// explicit head_dim), single-file and sharded.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "support/temp_dir.h"
#include "engine/hf_config.h"
#include "engine/hf_model_loader.h"
#include "engine/random_model.h"
#include "engine/safetensors_file.h"
#include "engine/safetensors_writer.h"
#include "engine/transformer.h"

namespace fs = std::filesystem;
using namespace cdb;

namespace {

using cdb::test::TempDir;

at::Tensor run(const LoadedModel& m, const at::Tensor& tokens) {
  Transformer tf(m);
  KVCache cache = tf.new_cache(tokens.size(0), tokens.size(1));
  at::InferenceMode guard;
  return tf.forward(tokens, cache);
}

constexpr const char* kLlama32_1B = R"({
  "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009], "head_dim": 64,
  "hidden_act": "silu", "hidden_size": 2048, "initializer_range": 0.02, "intermediate_size": 8192,
  "max_position_embeddings": 131072, "mlp_bias": false, "model_type": "llama",
  "num_attention_heads": 32, "num_hidden_layers": 16, "num_key_value_heads": 8, "pretraining_tp": 1,
  "rms_norm_eps": 1e-05,
  "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                   "original_max_position_embeddings": 8192, "rope_type": "llama3"},
  "rope_theta": 500000.0, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
  "transformers_version": "4.45.0.dev0", "use_cache": true, "vocab_size": 128256})";

TEST(HfConfig, ParsesLlama32WithLlama3RopeScaling) {
  ModelConfig c = parse_hf_config(kLlama32_1B, "config.json");
  EXPECT_EQ(c.arch, Arch::Llama);
  EXPECT_EQ(c.dim, 2048);
  EXPECT_EQ(c.hidden_dim, 8192);
  EXPECT_EQ(c.n_layers, 16);
  EXPECT_EQ(c.n_heads, 32);
  EXPECT_EQ(c.n_kv_heads, 8);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.vocab_size, 128256);
  EXPECT_EQ(c.max_seq_len, 131072);
  EXPECT_DOUBLE_EQ(c.norm_eps, 1e-5);
  EXPECT_DOUBLE_EQ(c.rope_theta, 500000.0);
  EXPECT_EQ(c.rope_style, RopeStyle::Half);
  EXPECT_EQ(c.rope_scaling.type, "llama3");
  EXPECT_DOUBLE_EQ(c.rope_scaling.factor, 32.0);
  EXPECT_DOUBLE_EQ(c.rope_scaling.low_freq_factor, 1.0);
  EXPECT_DOUBLE_EQ(c.rope_scaling.high_freq_factor, 4.0);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 8192);
  EXPECT_TRUE(c.tied_embeddings);
  EXPECT_FALSE(c.qkv_bias);
  EXPECT_FALSE(c.qk_norm);
  EXPECT_EQ(c.bos_id, 128000);
  EXPECT_EQ(c.eos_ids, (std::vector<int64_t>{128001, 128008, 128009}));
  EXPECT_EQ(c.weight_dtype, "bf16");
}

TEST(HfConfig, Llama2StyleDefaultsAndOldRopeScalingKey) {
  ModelConfig c = parse_hf_config(
      R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 256, "intermediate_size": 688,
          "num_hidden_layers": 2, "num_attention_heads": 8, "vocab_size": 32000, "rms_norm_eps": 1e-6,
          "rope_scaling": null, "bos_token_id": 1, "eos_token_id": 2})",
      "c.json");
  EXPECT_EQ(c.n_kv_heads, 8);  // absent: multi-head attention
  EXPECT_EQ(c.head_dim, 32);
  EXPECT_EQ(c.rope_scaling.type, "none");
  EXPECT_DOUBLE_EQ(c.rope_theta, 10000.0);
  EXPECT_FALSE(c.tied_embeddings);
  EXPECT_EQ(c.eos_ids, (std::vector<int64_t>{2}));
  EXPECT_EQ(c.weight_dtype, "f32");

  ModelConfig old = parse_hf_config(
      R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "intermediate_size": 128,
          "num_hidden_layers": 1, "num_attention_heads": 4, "vocab_size": 10,
          "rope_scaling": {"type": "llama3", "factor": 8.0}})",
      "c.json");
  EXPECT_EQ(old.rope_scaling.type, "llama3");
  EXPECT_DOUBLE_EQ(old.rope_scaling.factor, 8.0);
}

TEST(HfConfig, ParsesQwen3AndQwen2) {
  ModelConfig q3 = parse_hf_config(
      R"({"architectures": ["Qwen3ForCausalLM"], "bos_token_id": 151643, "eos_token_id": 151645,
          "head_dim": 128, "hidden_size": 2560, "intermediate_size": 9728, "max_position_embeddings": 40960,
          "num_attention_heads": 32, "num_hidden_layers": 36, "num_key_value_heads": 8, "rms_norm_eps": 1e-06,
          "rope_scaling": null, "rope_theta": 1000000, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
          "attention_bias": false, "vocab_size": 151936})",
      "q3.json");
  EXPECT_EQ(q3.arch, Arch::Qwen3);
  EXPECT_EQ(q3.head_dim, 128);  // explicit, not 2560/32
  EXPECT_TRUE(q3.qk_norm);
  EXPECT_FALSE(q3.qkv_bias);
  EXPECT_DOUBLE_EQ(q3.rope_theta, 1e6);
  EXPECT_DOUBLE_EQ(q3.norm_eps, 1e-6);

  ModelConfig q2 = parse_hf_config(
      R"({"architectures": ["Qwen2ForCausalLM"], "hidden_size": 896, "intermediate_size": 4864,
          "num_attention_heads": 14, "num_hidden_layers": 24, "num_key_value_heads": 2, "vocab_size": 151936,
          "bos_token_id": null, "eos_token_id": 151643, "tie_word_embeddings": true, "use_sliding_window": false,
          "torch_dtype": "float16"})",
      "q2.json");
  EXPECT_EQ(q2.arch, Arch::Qwen2);
  EXPECT_TRUE(q2.qkv_bias);
  EXPECT_EQ(q2.head_dim, 64);
  EXPECT_EQ(q2.bos_id, -1);
  EXPECT_EQ(q2.weight_dtype, "f16");
}

TEST(HfConfig, RejectsWhatTheEngineCannotRun) {
  try {
    parse_hf_config(R"({"architectures": ["MistralForCausalLM"], "hidden_size": 8})", "mistral/config.json");
    FAIL();
  } catch (const Unsupported& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("MistralForCausalLM"), std::string::npos) << m;
    EXPECT_NE(m.find("mistral/config.json"), std::string::npos) << m;
    for (const auto& a : supported_hf_architectures()) EXPECT_NE(m.find(a), std::string::npos) << m;
  }
  const std::string base = R"("architectures": ["LlamaForCausalLM"], "hidden_size": 64, "intermediate_size": 128,
      "num_hidden_layers": 1, "num_attention_heads": 4, "vocab_size": 10)";
  EXPECT_THROW(parse_hf_config("{" + base + R"(, "rope_scaling": {"rope_type": "yarn", "factor": 4.0}})", "c"),
               Unsupported);
  EXPECT_THROW(parse_hf_config("{" + base + R"(, "hidden_act": "gelu"})", "c"), Unsupported);
  EXPECT_THROW(parse_hf_config("{" + base + R"(, "attention_bias": true})", "c"), Unsupported);
  EXPECT_THROW(parse_hf_config("{" + base + R"(, "num_key_value_heads": 3})", "c"), CorruptData);
  EXPECT_THROW(parse_hf_config(R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 64})", "c"), CorruptData);
  EXPECT_THROW(parse_hf_config("{" + base + R"(, "vocab_size": "many"})", "c"), CorruptData);
  EXPECT_THROW(parse_hf_config("{not json", "c"), CorruptData);
}

TEST(HfConfig, WrittenConfigReadsBackIdentically) {
  for (const std::string& shape : random_model_shapes()) {
    ModelConfig c = random_model_config(shape);
    ModelConfig r = parse_hf_config(hf_config_json(c), shape);
    EXPECT_EQ(r.arch, c.arch) << shape;
    EXPECT_EQ(r.dim, c.dim) << shape;
    EXPECT_EQ(r.hidden_dim, c.hidden_dim) << shape;
    EXPECT_EQ(r.n_layers, c.n_layers) << shape;
    EXPECT_EQ(r.n_heads, c.n_heads) << shape;
    EXPECT_EQ(r.n_kv_heads, c.n_kv_heads) << shape;
    EXPECT_EQ(r.head_dim, c.head_dim) << shape;
    EXPECT_EQ(r.vocab_size, c.vocab_size) << shape;
    EXPECT_EQ(r.max_seq_len, c.max_seq_len) << shape;
    EXPECT_EQ(r.norm_eps, c.norm_eps) << shape;
    EXPECT_EQ(r.rope_theta, c.rope_theta) << shape;
    EXPECT_EQ(r.rope_scaling.type, c.rope_scaling.type) << shape;
    EXPECT_EQ(r.rope_scaling.factor, c.rope_scaling.factor) << shape;
    EXPECT_EQ(r.tied_embeddings, c.tied_embeddings) << shape;
    EXPECT_EQ(r.qkv_bias, c.qkv_bias) << shape;
    EXPECT_EQ(r.qk_norm, c.qk_norm) << shape;
    EXPECT_EQ(r.bos_id, c.bos_id) << shape;
    EXPECT_EQ(r.eos_ids, c.eos_ids) << shape;
    EXPECT_EQ(r.weight_dtype, c.weight_dtype) << shape;
  }
  ModelConfig interleaved = random_model_config("tiny-llama3");
  interleaved.rope_style = RopeStyle::Interleaved;
  EXPECT_THROW(hf_config_json(interleaved), InvalidArgument);
}

class TinyModels : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(TinyModels, LoadAndRunWithFiniteLogits) {
  const auto& [shape, dtype] = GetParam();
  TempDir dir(shape + "_" + dtype);
  ModelConfig cfg = random_model_config(shape);
  cfg.weight_dtype = dtype;
  write_random_model(cfg, 7, dir.path());

  LoadedModel m = load_hf_model(dir.path());
  EXPECT_EQ(m.config.arch, cfg.arch);
  EXPECT_EQ(m.config.weight_dtype, dtype);
  EXPECT_EQ(m.config.rope_style, RopeStyle::Half);
  EXPECT_EQ(m.config.tied_embeddings, cfg.tied_embeddings);
  ASSERT_EQ(m.weights.layers.size(), static_cast<size_t>(cfg.n_layers));
  const LayerWeights& L = m.weights.layers[1];
  EXPECT_EQ(L.bq.defined(), cfg.arch == Arch::Qwen2);
  EXPECT_EQ(L.bv.defined(), cfg.arch == Arch::Qwen2);
  EXPECT_EQ(L.q_norm.defined(), cfg.arch == Arch::Qwen3);
  EXPECT_EQ(L.wq.size(0), cfg.n_heads * cfg.head_dim);
  EXPECT_EQ(L.wo.size(1), cfg.n_heads * cfg.head_dim);
  if (cfg.tied_embeddings)
    EXPECT_EQ(m.weights.output.data_ptr(), m.weights.tok_embeddings.data_ptr());
  else
    EXPECT_NE(m.weights.output.data_ptr(), m.weights.tok_embeddings.data_ptr());
  // Norm weights near one, others small: an init, not garbage.
  EXPECT_NEAR(L.attn_norm.to(at::kFloat).mean().item<double>(), 1.0, 0.01);
  EXPECT_NEAR(L.wq.to(at::kFloat).std().item<double>(), 0.02, 0.002);

  at::Tensor tokens = at::tensor({1, 17, 300, 42, 511, 3, 99}, at::kLong).unsqueeze(0);
  at::Tensor logits = run(m, tokens);
  ASSERT_EQ(logits.sizes(), (at::IntArrayRef{1, 7, cfg.vocab_size}));
  EXPECT_TRUE(at::isfinite(logits).all().item<bool>());
  EXPECT_GT(logits.std().item<double>(), 1e-3) << "logits should depend on the weights";
}

INSTANTIATE_TEST_SUITE_P(Shapes, TinyModels,
                         ::testing::Combine(::testing::Values("tiny-llama3", "tiny-qwen2", "tiny-qwen3"),
                                            ::testing::Values("f32", "bf16", "f16")),
                         [](const auto& info) {
                           std::string n = std::get<0>(info.param) + "_" + std::get<1>(info.param);
                           for (char& ch : n)
                             if (ch == '-') ch = '_';
                           return n;
                         });

TEST(HfLoader, ShardedCheckpointLoadsTheSameModel) {
  TempDir one("one"), sharded("sharded");
  ModelConfig cfg = random_model_config("tiny-qwen2");
  cfg.weight_dtype = "f32";
  write_random_model(cfg, 3, one.path());
  fs::copy_file(one.path() / "config.json", sharded.path() / "config.json");

  // Split the tensors over two shards, the way transformers' save_pretrained does.
  SafetensorsFile whole(one.path() / "model.safetensors");
  std::vector<std::pair<std::string, at::Tensor>> first, second;
  nlohmann::json map;
  for (const std::string& n : whole.names()) {
    bool in_first = n.find("layers.0.") != std::string::npos || n.find("embed") != std::string::npos;
    (in_first ? first : second).emplace_back(n, whole.tensor(n));
    map[n] = in_first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
  }
  save_safetensors(sharded.path() / "model-00001-of-00002.safetensors", first);
  save_safetensors(sharded.path() / "model-00002-of-00002.safetensors", second);
  std::ofstream(sharded.path() / "model.safetensors.index.json")
      << nlohmann::json{{"metadata", {{"total_size", 0}}}, {"weight_map", map}}.dump();

  at::Tensor tokens = at::tensor({5, 6, 7, 8}, at::kLong).unsqueeze(0);
  at::Tensor a = run(load_hf_model(one.path()), tokens);
  at::Tensor b = run(load_hf_model(sharded.path()), tokens);
  EXPECT_TRUE(at::equal(a, b));
}

TEST(HfLoader, LayoutListsEveryTensorOnce) {
  ModelConfig c = random_model_config("tiny-qwen2");
  auto layout = hf_tensor_layout(c, at::kFloat);
  // embed + norm + lm_head + per layer (2 norms, q k v o, 3 biases, 3 mlp)
  EXPECT_EQ(layout.size(), 3u + static_cast<size_t>(c.n_layers) * 12);
  c = random_model_config("tiny-qwen3");
  layout = hf_tensor_layout(c, at::kFloat);
  EXPECT_EQ(layout.size(), 2u + static_cast<size_t>(c.n_layers) * 11);  // tied: no lm_head
}

}  // namespace
