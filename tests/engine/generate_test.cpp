// Generation: llama2.c's golden output byte for byte (library and CLI),
// batched = one by one with a shared Cartridge, reproducible seeds, top-k=1 =
// greedy, stop tokens and stop strings.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <set>

#include "common/error.h"
#include "common/models_dir.h"
#include "engine/generator.h"
#include "engine/llama2c_loader.h"

namespace cdb {
namespace {

std::string golden() {
  std::ifstream f(model_file("stories260K/golden_greedy_t0_n200.txt"), std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

struct Stories {
  Transformer model{load_llama2c(model_file("stories260K/stories260K.bin"))};
  std::unique_ptr<Tokenizer> tok = load_tokenizer(model_file("stories260K/tok512.bin"));
};

GenerateOptions greedy(int64_t n) {
  GenerateOptions o;
  o.sampling.temperature = 0.0f;
  o.max_tokens = n;
  return o;
}

TEST(Generate, GreedyReproducesLlama2cGolden) {
  Stories s;
  GenerateOptions o = greedy(200);  // `run -n 200`: 200 positions from the BOS
  o.stop_at_eos = false;            // run.c stops on BOS only
  o.stop_tokens = {1};
  std::string printed;
  Generation g = generate(s.model, *s.tok, std::vector<int32_t>{1}, nullptr, o,
                          [&](size_t, int32_t, std::string_view piece) {
                            if (is_printable_piece(piece)) printed += piece;
                          });
  EXPECT_EQ(printed, golden());
  EXPECT_EQ(g.tokens.size(), 200u);
  EXPECT_EQ(g.finish, FinishReason::Length);
}

TEST(Generate, CliOutputEqualsGoldenByteForByte) {
  const std::string cmd = std::string(CDB_BIN_DIR) + "/cartridge generate --model '" +
                          model_file("stories260K/stories260K.bin").string() +
                          "' --temperature 0 --steps 200 2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ASSERT_EQ(::pclose(p), 0) << cmd;
  EXPECT_EQ(out, golden());
}

TEST(Generate, BatchWithSharedCartridgeEqualsOneByOne) {
  Stories s;
  Cartridge c;
  {
    c10::InferenceMode guard;
    c = s.model.prefill_cartridge(s.tok->encode("Once upon a time, there was a dog named Max.", true));
  }
  const std::vector<std::vector<int32_t>> prompts = {
      s.tok->encode(" He liked to", false), s.tok->encode(" One day", false),
      s.tok->encode(" The sun was hot and the bird sang a song", false)};
  for (float temperature : {0.0f, 0.9f}) {
    GenerateOptions o = greedy(30);
    o.sampling.temperature = temperature;
    o.sampling.seed = 1234;
    std::vector<Generation> batch = generate(s.model, *s.tok, prompts, &c, o);
    for (size_t i = 0; i < prompts.size(); ++i) {
      GenerateOptions one = o;
      one.sampling.seed = o.sampling.seed + i;  // the batch's per-sequence seed
      Generation g = generate(s.model, *s.tok, prompts[i], &c, one);
      EXPECT_EQ(batch[i].tokens, g.tokens) << "seq " << i << " t=" << temperature;
      EXPECT_EQ(batch[i].text, g.text);
      EXPECT_FALSE(g.tokens.empty());
    }
  }
  // The Cartridge changes what follows.
  Generation without = generate(s.model, *s.tok, prompts[0], nullptr, greedy(30));
  Generation with = generate(s.model, *s.tok, prompts[0], &c, greedy(30));
  EXPECT_NE(without.tokens, with.tokens);
}

TEST(Generate, SeedsReproduceAndTopK1IsGreedy) {
  Stories s;
  const std::vector<int32_t> prompt = s.tok->encode("Lily went to the park", true);
  GenerateOptions o = greedy(60);
  o.sampling.temperature = 1.0f;
  o.sampling.top_p = 0.95f;
  o.sampling.seed = 42;
  Generation a = generate(s.model, *s.tok, prompt, nullptr, o);
  Generation b = generate(s.model, *s.tok, prompt, nullptr, o);
  EXPECT_EQ(a.tokens, b.tokens);
  o.sampling.seed = 43;
  Generation c = generate(s.model, *s.tok, prompt, nullptr, o);
  EXPECT_NE(a.tokens, c.tokens);

  GenerateOptions k1 = greedy(60);
  k1.sampling.temperature = 1.5f;
  k1.sampling.top_k = 1;
  k1.sampling.seed = 7;
  EXPECT_EQ(generate(s.model, *s.tok, prompt, nullptr, k1).tokens,
            generate(s.model, *s.tok, prompt, nullptr, greedy(60)).tokens);
}

TEST(Generate, StopStringsCutTheTextAndHoldBackPartialMatches) {
  Stories s;
  const std::vector<int32_t> prompt = {1};
  Generation full = generate(s.model, *s.tok, prompt, nullptr, greedy(120));
  const std::string stop = "red ball";
  const size_t at = full.text.find(stop);
  ASSERT_NE(at, std::string::npos) << full.text;
  GenerateOptions o = greedy(120);
  o.stop_strings = {"no such thing", stop};
  std::string streamed;
  Generation g = generate(s.model, *s.tok, prompt, nullptr, o,
                          [&](size_t, int32_t, std::string_view t) { streamed += t; });
  EXPECT_EQ(g.finish, FinishReason::StopString);
  EXPECT_EQ(g.text, full.text.substr(0, at));
  EXPECT_EQ(streamed, g.text);  // "red" was held back, never streamed
  EXPECT_LT(g.tokens.size(), full.tokens.size());

  // A stop token ends the sequence without being part of it.
  GenerateOptions t = greedy(120);
  t.stop_tokens = {full.tokens[5]};
  Generation h = generate(s.model, *s.tok, prompt, nullptr, t);
  EXPECT_EQ(h.finish, FinishReason::StopToken);
  EXPECT_EQ(h.tokens, std::vector<int32_t>(full.tokens.begin(), full.tokens.begin() + 5));

  o.stop_strings = {""};
  EXPECT_THROW(generate(s.model, *s.tok, prompt, nullptr, o), InvalidArgument);
  EXPECT_THROW(generate(s.model, *s.tok, std::vector<int32_t>{}, nullptr, greedy(3)), InvalidArgument);
}

TEST(Sampler, TopPAndTopKRestrictTheChoice) {
  // Logits favouring 3, then 1; everything else far behind.
  std::vector<float> logits = {0.0f, 4.0f, -1.0f, 5.0f, 0.5f};
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = 2;
  p.seed = 11;
  Sampler k2(p);
  for (int i = 0; i < 200; ++i) {
    const int32_t id = k2.sample(logits.data(), 5);
    EXPECT_TRUE(id == 3 || id == 1) << id;
  }
  p.top_k = 0;
  p.top_p = 0.5f;  // token 3 alone has ~0.7 of the mass
  Sampler nucleus(p);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(nucleus.sample(logits.data(), 5), 3);
  p.top_p = 1.0f;
  Sampler all(p);
  std::set<int32_t> seen;
  const std::vector<float> flat = {0.0f, 1.0f, -0.5f, 1.5f, 0.2f};
  for (int i = 0; i < 2000; ++i) seen.insert(all.sample(flat.data(), 5));
  EXPECT_EQ(seen.size(), 5u);
  EXPECT_EQ(argmax(logits.data(), 5), 3);
  p.temperature = -1.0f;
  EXPECT_THROW(Sampler{p}, InvalidArgument);
}

}  // namespace
}  // namespace cdb
