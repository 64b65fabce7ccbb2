// `cartridge convert`'s core: a llama2.c checkpoint written as an HF
// directory computes the same function through the HF (rotate-half) path.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/models_dir.h"
#include "support/temp_dir.h"
#include "engine/hf_model_loader.h"
#include "engine/llama2c_loader.h"
#include "engine/model_writer.h"
#include "engine/safetensors_file.h"
#include "engine/transformer.h"

namespace fs = std::filesystem;
using namespace cdb;

namespace {

using cdb::test::TempDir;

at::Tensor logits_of(LoadedModel m, const at::Tensor& tokens) {
  Transformer tf(std::move(m));
  KVCache cache = tf.new_cache(tokens.size(0), tokens.size(1));
  at::InferenceMode guard;
  return tf.forward(tokens, cache);
}

TEST(InterleavedToHalf, PermutesRowsWithinEachHead) {
  // 2 heads of head_dim 4: rows (0,1,2,3 | 4,5,6,7) become (0,2,1,3 | 4,6,5,7).
  at::Tensor w = at::arange(8, at::kFloat).unsqueeze(1).expand({8, 3}).contiguous();
  at::Tensor p = interleaved_to_half(w, 2, 4);
  EXPECT_TRUE(at::equal(p.select(1, 0), at::tensor({0, 2, 1, 3, 4, 6, 5, 7}, at::kFloat)));
  EXPECT_TRUE(at::equal(p.select(1, 2), p.select(1, 0)));
  at::Tensor v = interleaved_to_half(at::arange(6, at::kFloat), 1, 6);
  EXPECT_TRUE(at::equal(v, at::tensor({0, 2, 4, 1, 3, 5}, at::kFloat)));
  EXPECT_THROW(interleaved_to_half(at::zeros({6, 2}), 2, 4), InvalidArgument);
}

TEST(Convert, Stories260KThroughHfLayoutGivesTheSameLogits) {
  const fs::path bin = model_file("stories260K/stories260K.bin");
  TempDir out("stories");
  LoadedModel original = load_llama2c(bin);
  ASSERT_EQ(original.config.rope_style, RopeStyle::Interleaved);
  write_hf_model(original, out.path());

  // config.json: a LlamaForCausalLM a stock HF loader would accept.
  std::ifstream in(out.path() / "config.json");
  auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j["architectures"][0], "LlamaForCausalLM");
  EXPECT_EQ(j["model_type"], "llama");
  EXPECT_EQ(j["hidden_size"], 64);
  EXPECT_EQ(j["intermediate_size"], 172);
  EXPECT_EQ(j["num_hidden_layers"], 5);
  EXPECT_EQ(j["num_attention_heads"], 8);
  EXPECT_EQ(j["num_key_value_heads"], 4);
  EXPECT_EQ(j["vocab_size"], 512);
  EXPECT_EQ(j["max_position_embeddings"], 512);
  EXPECT_EQ(j["tie_word_embeddings"], true);
  EXPECT_EQ(j["torch_dtype"], "float32");
  SafetensorsFile st(out.path() / "model.safetensors");
  EXPECT_FALSE(st.contains("lm_head.weight")) << "tied embeddings must stay tied";
  EXPECT_EQ(st.metadata().at("format"), "pt");

  LoadedModel converted = load_hf_model(out.path());
  EXPECT_EQ(converted.config.rope_style, RopeStyle::Half);
  EXPECT_TRUE(converted.config.tied_embeddings);
  // The permutation is real: wq differs, wv does not.
  EXPECT_FALSE(at::equal(converted.weights.layers[0].wq, original.weights.layers[0].wq));
  EXPECT_TRUE(at::equal(converted.weights.layers[0].wv, original.weights.layers[0].wv));

  at::Tensor tokens = at::tensor({1, 403, 407, 261, 378, 410, 275, 306, 285, 449, 259, 280, 270, 33, 468, 347,
                                  430, 376, 261, 292, 343, 504, 256, 279, 373, 453, 286, 258, 300, 491, 40, 2},
                                 at::kLong)
                           .unsqueeze(0);
  at::Tensor a = logits_of(std::move(original), tokens);
  at::Tensor b = logits_of(std::move(converted), tokens);
  ASSERT_EQ(a.sizes(), b.sizes());
  const double diff = (a - b).abs().max().item<double>();
  EXPECT_LE(diff, 1e-4);
  EXPECT_GT(a.std().item<double>(), 0.1);

  // bf16 output: the same function up to bf16 rounding of the weights.
  TempDir bf("stories_bf16");
  write_hf_model(load_llama2c(bin), bf.path(), at::kBFloat16);
  LoadedModel half = load_hf_model(bf.path());
  EXPECT_EQ(half.config.weight_dtype, "bf16");
  at::Tensor c = logits_of(std::move(half), tokens);
  EXPECT_LT((a - c).abs().max().item<double>(), 0.5);
}

}  // namespace
