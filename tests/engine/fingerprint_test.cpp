// The model fingerprint: stable across loads, sensitive to weights, to the
// configuration and to the tokenizer.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "common/models_dir.h"
#include "support/temp_dir.h"
#include "engine/fingerprint.h"
#include "engine/hf_model_loader.h"
#include "engine/llama2c_loader.h"
#include "engine/model_writer.h"
#include "engine/random_model.h"

namespace fs = std::filesystem;
using namespace cdb;

namespace {

using cdb::test::TempDir;

const std::string kTok = "0123456789abcdef0123456789abcdef";

TEST(Fingerprint, StableAcrossLoadsAndIsHex128) {
  TempDir a("a"), b("b");
  ModelConfig cfg = random_model_config("tiny-qwen3");
  write_random_model(cfg, 5, a.path());
  write_random_model(cfg, 5, b.path());
  const std::string f1 = model_fingerprint(load_hf_model(a.path()), kTok);
  const std::string f2 = model_fingerprint(load_hf_model(a.path()), kTok);
  const std::string f3 = model_fingerprint(load_hf_model(b.path()), kTok);  // same seed, other directory
  EXPECT_EQ(f1, f2);
  EXPECT_EQ(f1, f3) << "the source path must not enter the fingerprint";
  ASSERT_EQ(f1.size(), 32u);
  EXPECT_EQ(f1.find_first_not_of("0123456789abcdef"), std::string::npos) << f1;
}

TEST(Fingerprint, ChangesWithWeightsConfigAndTokenizer) {
  TempDir a("w"), b("w2");
  ModelConfig cfg = random_model_config("tiny-llama3");
  write_random_model(cfg, 5, a.path());
  write_random_model(cfg, 6, b.path());
  LoadedModel m = load_hf_model(a.path());
  const std::string base = model_fingerprint(m, kTok);
  EXPECT_NE(base, model_fingerprint(load_hf_model(b.path()), kTok)) << "other seed";
  EXPECT_NE(base, model_fingerprint(m, "ffffffffffffffffffffffffffffffff")) << "other tokenizer";

  auto changed = [&](auto edit) {
    LoadedModel x = load_hf_model(a.path());
    edit(x);
    return model_fingerprint(x, kTok);
  };
  EXPECT_NE(base, changed([](LoadedModel& x) { x.config.rope_theta = 10000.0; }));
  EXPECT_NE(base, changed([](LoadedModel& x) { x.config.rope_scaling.factor = 8.0; }));
  EXPECT_NE(base, changed([](LoadedModel& x) { x.config.rope_style = RopeStyle::Interleaved; }));
  EXPECT_NE(base, changed([](LoadedModel& x) { x.config.norm_eps = 1e-6; }));
  EXPECT_EQ(base, changed([](LoadedModel& x) { x.config.max_seq_len = 4096; })) << "context length is not the function";
  // A weight at a sampled position (element 7 of every tensor is one).
  EXPECT_NE(base, changed([](LoadedModel& x) {
    at::Tensor w = x.weights.layers[1].w_down.clone();
    w.view({-1})[7] += 0.5;
    x.weights.layers[1].w_down = w;
  }));
  EXPECT_NE(base, changed([](LoadedModel& x) { x.weights.norm = x.weights.norm * 2; }));
  // The same model in another dtype is another function (rounding).
  ModelConfig f32 = cfg;
  f32.weight_dtype = "f32";
  TempDir c("f32");
  write_random_model(f32, 5, c.path());
  EXPECT_NE(base, model_fingerprint(load_hf_model(c.path()), kTok));
}

TEST(Fingerprint, Llama2cFileAndItsConversionDiffer) {
  // Documented choice: permuted weights + another RoPE style is another
  // fingerprint, though the function is the same.
  LoadedModel original = load_llama2c(model_file("stories260K/stories260K.bin"));
  TempDir out("conv");
  write_hf_model(original, out.path());
  EXPECT_EQ(model_fingerprint(original, kTok),
            model_fingerprint(load_llama2c(model_file("stories260K/stories260K.bin")), kTok));
  EXPECT_NE(model_fingerprint(original, kTok), model_fingerprint(load_hf_model(out.path()), kTok));
}

}  // namespace
