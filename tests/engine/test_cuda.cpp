// The engine on a CUDA device, against the CPU reference: fp32 logits, bf16
// generation, and a Cartridge prefix. Runs only where LibTorch has CUDA and a
// device is present (the GPU machines); elsewhere each test is skipped with
// the reason, since there is nothing to compare.
#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

#include "common/models_dir.h"
#include "engine/generator.h"
#include "engine/llama2c_loader.h"

namespace cdb {
namespace {

#define REQUIRE_CUDA() \
  if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device in this LibTorch build or machine"

LoadedModel stories() { return load_llama2c(model_file("stories260K/stories260K.bin")); }

at::Tensor tokens(std::vector<int64_t> ids) {
  const int64_t n = static_cast<int64_t>(ids.size());
  return at::tensor(ids, at::kLong).view({1, n});
}

TEST(Cuda, Fp32LogitsEqualTheCpu) {
  REQUIRE_CUDA();
  c10::InferenceMode guard;
  Transformer cpu(stories()), gpu(stories(), at::Device(at::kCUDA), at::kFloat);
  const at::Tensor t = tokens({1, 403, 407, 261, 378, 280, 262, 399, 431, 261});
  KVCache a = cpu.new_cache(1, 16), b = gpu.new_cache(1, 16);
  at::Tensor la = cpu.forward(t, a), lb = gpu.forward(t, b).cpu();
  EXPECT_TRUE(at::allclose(la, lb, 1e-4, 1e-3)) << (la - lb).abs().max().item<float>();
  // And one decode step on top of the cache.
  at::Tensor da = cpu.forward(tokens({300}), a), db = gpu.forward(tokens({300}), b).cpu();
  EXPECT_TRUE(at::allclose(da, db, 1e-4, 1e-3)) << (da - db).abs().max().item<float>();
}

TEST(Cuda, Bf16GreedyGenerationFollowsTheCpu) {
  REQUIRE_CUDA();
  c10::InferenceMode guard;
  Transformer cpu(stories()), gpu(stories(), at::Device(at::kCUDA), at::kBFloat16);
  auto tok = load_tokenizer(model_file("stories260K/tok512.bin"));
  GenerateOptions o;
  o.sampling.temperature = 0.0f;
  o.max_tokens = 24;
  const std::vector<int32_t> prompt = tok->encode("Once upon a time", /*add_bos=*/true);
  Generation ref = generate(cpu, *tok, prompt, nullptr, o);
  Generation got = generate(gpu, *tok, prompt, nullptr, o);
  // bf16 rounds the logits; a tiny model's greedy path agrees for the first
  // tokens (where the top-2 margin is large) and may drift later.
  ASSERT_GE(got.tokens.size(), 8u);
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(got.tokens[i], ref.tokens[i]) << "token " << i;
}

TEST(Cuda, CartridgePrefixEqualsItsTokensInThePrompt) {
  REQUIRE_CUDA();
  c10::InferenceMode guard;
  Transformer gpu(stories(), at::Device(at::kCUDA), at::kFloat);
  const std::vector<int32_t> corpus = {1, 403, 407, 261, 378, 280, 262, 399};
  Cartridge c = gpu.prefill_cartridge(corpus);
  ASSERT_TRUE(c.keys[0].is_cuda());
  const at::Tensor q = tokens({431, 261, 300});
  KVCache with = gpu.new_cache(1, 8);
  at::Tensor lp = gpu.forward(q, with, &c);
  std::vector<int64_t> all(corpus.begin(), corpus.end());
  all.insert(all.end(), {431, 261, 300});
  KVCache plain = gpu.new_cache(1, 16);
  at::Tensor lf = gpu.forward(tokens(all), plain).narrow(1, 8, 3);
  EXPECT_TRUE(at::allclose(lp.cpu(), lf.cpu(), 1e-4, 1e-3)) << (lp - lf).abs().max().item<float>();
}

}  // namespace
}  // namespace cdb
