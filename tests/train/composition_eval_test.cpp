// Composition measured on a real model (stories260K, CPU): a corpus pair
// written here, A's probes scored with A's Cartridge composed with B's in
// both orders, against A alone, ICL of A, the joint retrain and ICL of both.
// Small budgets: this checks the measurement, docs/selfstudy.md has the
// figures of a full run.
#include <gtest/gtest.h>

#include <ATen/Parallel.h>

#include <cmath>

#include "common/error.h"
#include "common/models_dir.h"
#include "engine/cpu_runtime.h"
#include "engine/load_model.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/transformer.h"
#include "selfstudy_corpus.h"
#include "train/composition_eval.h"

namespace cdb {
namespace {

// Two stories about other invented children: nothing A's probes ask about.
constexpr const char* kOtherCorpus =
    "Once upon a time, there was a child named Tavo. Tavo lived in a little town called Dunby. Tavo had a dog "
    "named Roxy. Roxy was red and liked to play. One day, Tavo and Roxy found three shiny stones by the river.\n"
    "Once upon a time, there was a child named Kenji. Kenji lived in a little town called Wexley. Kenji had a "
    "bird named Pippa. Pippa was yellow and liked to play. One day, Kenji and Pippa found nine shiny stones.\n";

TEST(CompositionEval, ComposedCartridgesAreScoredInBothOrdersAgainstEveryBaseline) {
  auto tok = load_tokenizer(model_file("stories260K/tok512.bin"));
  Transformer model(load_model(model_file("stories260K/stories260K.bin")));
  set_compute_threads(1);
  EvalOptions o;
  o.cartridge_tokens = 16;
  o.synthesis.conversations = 12;
  o.synthesis.conversations_per_chunk = 4;
  o.synthesis.b_temperature = 0.7;
  o.synthesis.b_max_tokens = 32;
  o.synthesis.seed = 3;
  o.train.steps = 30;
  o.train.batch_size = 8;
  o.train.seed = 3;
  const auto probes = parse_probes(test::kStoriesProbes, "probes");
  const CompositionReport r = evaluate_composition(model, *tok, test::kStoriesCorpus, kOtherCorpus, probes, o);

  for (const char* name : {"none", "icl_a", "a", "a+b", "b+a", "retrain_ab"})
    ASSERT_NE(r.find(name), nullptr) << name;
  // Both corpora (~440 + ~110 tokens) overflow the 512-token window with the
  // probes: the ICL-of-both row is absent, and the report says why.
  EXPECT_FALSE(r.icl_ab_fits);
  EXPECT_EQ(r.find("icl_ab"), nullptr);
  EXPECT_TRUE(r.icl_a_whole);
  EXPECT_EQ(r.find("a")->cartridge_tokens, 16);
  EXPECT_EQ(r.find("a+b")->cartridge_tokens, 32);
  EXPECT_EQ(r.find("b+a")->cartridge_tokens, 32);
  EXPECT_EQ(r.find("retrain_ab")->cartridge_tokens, 32);  // the composition's memory
  EXPECT_DOUBLE_EQ(r.find("none")->gain_recovered, 0.0);
  EXPECT_DOUBLE_EQ(r.find("icl_a")->gain_recovered, 1.0);
  // A's Cartridge carries A: alone and composed with B (either order) the
  // probes are likelier than with no context.
  const double none = r.find("none")->ll_per_token;
  EXPECT_GT(r.find("a")->ll_per_token, none);
  EXPECT_GT(r.find("a+b")->ll_per_token, none);
  EXPECT_GT(r.find("b+a")->ll_per_token, none);
  EXPECT_TRUE(std::isfinite(r.find("retrain_ab")->ll_per_token));
  EXPECT_NE(r.to_json().find("\"b+a\""), std::string::npos);
}

TEST(CompositionEval, ChatModelsAndEmptyInputsAreRefusedWithAReason) {
  auto tok = load_tokenizer(model_file("stories260K/tok512.bin"));
  Transformer model(load_model(model_file("stories260K/stories260K.bin")));
  EvalOptions o;
  const auto probes = parse_probes(test::kStoriesProbes, "probes");
  EXPECT_THROW(evaluate_composition(model, *tok, test::kStoriesCorpus, "", probes, o), InvalidArgument);
  EXPECT_THROW(evaluate_composition(model, *tok, test::kStoriesCorpus, kOtherCorpus, {}, o), InvalidArgument);
  o.synthesis.format = ChatFormat::Llama3;
  EXPECT_THROW(evaluate_composition(model, *tok, test::kStoriesCorpus, kOtherCorpus, probes, o), InvalidArgument);
}

}  // namespace
}  // namespace cdb
