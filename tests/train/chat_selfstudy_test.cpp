// Self-study on a chat model, end to end: synthesis with the chunk in a
// system prompt and speakers A and B in the Llama 3 chat template, the
// teacher's top-k taken with that system prompt in context, and training a
// Cartridge on the result. The model is tests/support/tiny_chat_model.h: the
// real Llama 3 tokenizer and template on random weights, so these tests
// check the conversation's structure and the teacher/student contract, not
// the quality of what is said.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <set>

#include "engine/cpu_runtime.h"
#include "engine/load_model.h"
#include "engine/tokenizer/chat_format.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/transformer.h"
#include "selfstudy_corpus.h"
#include "support/temp_dir.h"
#include "support/tiny_chat_model.h"
#include "train/cartridge_trainer.h"
#include "train/evaluator.h"
#include "train/probe.h"
#include "train/seed_prompts.h"
#include "train/synthesizer.h"
#include "train/synthetic_dataset.h"

namespace cdb {
namespace {

constexpr const char* kDescription = "short stories about invented children and their pets";

// Small synthesis runs: short chunks and speaker turns, top-20, seed 3.
SynthesisOptions small_synthesis(ChatFormat format, int64_t conversations, int64_t a_max, int64_t b_max) {
  SynthesisOptions o;
  o.conversations = conversations;
  o.batch_size = 4;
  o.min_chunk_tokens = 48;
  o.max_chunk_tokens = 160;
  o.corpus_description = kDescription;
  o.format = format;
  o.a_max_tokens = a_max;
  o.b_max_tokens = b_max;
  o.top_k = 20;
  o.seed = 3;
  return o;
}

struct ChatModel {
  test::TempDir dir{"chat-model"};
  std::unique_ptr<Tokenizer> tok;
  std::unique_ptr<Transformer> tf;
  std::vector<int32_t> corpus;  // without BOS
  SynthesisOptions options;
  SyntheticDataset data;

  ChatModel() {
    test::write_tiny_chat_model(dir.path());
    tok = load_tokenizer(dir.path());
    tf = std::make_unique<Transformer>(load_model(dir.path()));
    set_compute_threads(1);  // results independent of the machine's core count
    corpus = tok->encode(test::kStoriesCorpus, false);
    options = small_synthesis(detect_chat_format(dir.path()), 12, 24, 40);
    data = synthesize(*tf, *tok, corpus, options);
  }
};

// Built once per test binary: synthesis is the slow part.
ChatModel& chat() {
  static ChatModel m;
  return m;
}

bool starts_with(const std::vector<int32_t>& v, const std::vector<int32_t>& prefix) {
  return v.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), v.begin());
}

int64_t count_of(const std::vector<int32_t>& v, const std::vector<int32_t>& needle) {
  int64_t n = 0;
  for (auto it = v.begin(); (it = std::search(it, v.end(), needle.begin(), needle.end())) != v.end(); ++it) ++n;
  return n;
}

// The teacher's log-probs of `ids` (k per position) after each token of
// `conversation`, with `context` before it, by one plain forward pass.
std::vector<float> logprobs_at(Transformer& model, const std::vector<int32_t>& context,
                               const std::vector<int32_t>& conversation, const std::vector<int32_t>& ids, int64_t k) {
  at::InferenceMode guard;
  std::vector<int64_t> all(context.begin(), context.end());
  all.insert(all.end(), conversation.begin(), conversation.end());
  const int64_t n = static_cast<int64_t>(conversation.size());
  KVCache cache = model.new_cache(1, static_cast<int64_t>(all.size()));
  at::Tensor logits = model.forward(at::tensor(all, at::kLong).unsqueeze(0), cache)[0];
  at::Tensor lp = at::log_softmax(logits.narrow(0, logits.size(0) - n, n).to(at::kFloat), -1);
  std::vector<int64_t> idx(ids.begin(), ids.end());
  at::Tensor got = lp.gather(1, at::tensor(idx, at::kLong).view({n, k})).contiguous();
  return std::vector<float>(got.data_ptr<float>(), got.data_ptr<float>() + n * k);
}

std::vector<int32_t> teacher_context(const ChatModel& m, const std::string& chunk_text) {
  return m.tok->encode(render_chat(ChatFormat::Llama3, {{"system", chat_system_prompt(kDescription, chunk_text)}}, false),
                       false);
}

TEST(ChatSelfStudy, TheTinyChatModelIsALlama3ChatModel) {
  ChatModel& m = chat();
  EXPECT_EQ(m.options.format, ChatFormat::Llama3);
  EXPECT_EQ(m.tf->config().vocab_size, test::kLlama3Vocab);
  EXPECT_EQ(m.tok->bos_id(), 128000);
  auto stops = chat_stop_ids(ChatFormat::Llama3, *m.tok);
  EXPECT_NE(std::find(stops.begin(), stops.end(), 128009), stops.end()) << "<|eot_id|> ends an assistant turn";
}

TEST(ChatSelfStudy, ConversationsAreAUserTurnAndAnAnswerInTheTemplate) {
  ChatModel& m = chat();
  ASSERT_EQ(m.data.examples.size(), 12u);
  EXPECT_EQ(m.data.top_k, 20);
  const auto user = m.tok->encode("<|start_header_id|>user<|end_header_id|>\n\n", false);
  const auto assistant = m.tok->encode("<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", false);
  ASSERT_EQ(user.front(), 128006) << "the header marker is one special token";
  std::set<int32_t> kinds;
  for (const auto& e : m.data.examples) {
    // The student reads the conversation only: no BOS, no system prompt,
    // nothing of the chunk; the Cartridge stands in for all of that.
    EXPECT_TRUE(starts_with(e.tokens, user)) << m.tok->decode(e.tokens);
    EXPECT_EQ(count_of(e.tokens, user), 1) << m.tok->decode(e.tokens);
    EXPECT_EQ(count_of(e.tokens, assistant), 1) << "exactly one answer after one user turn: " << m.tok->decode(e.tokens);
    EXPECT_EQ(std::count(e.tokens.begin(), e.tokens.end(), 128000), 0);
    EXPECT_EQ(e.topk_ids.size(), e.tokens.size() * 20);
    EXPECT_LT(e.seed_kind, static_cast<int32_t>(SeedKind::Opener)) << "chat models get instructions, not openers";
    kinds.insert(e.seed_kind);
    EXPECT_GE(e.chunk.begin, 0);
    EXPECT_LE(e.chunk.end, static_cast<int64_t>(m.corpus.size()));
    EXPECT_GE(e.chunk.size(), 48);
    EXPECT_LE(e.chunk.size(), 160);
  }
  EXPECT_GE(kinds.size(), 3u) << "seed prompts of several kinds";
}

TEST(ChatSelfStudy, TheTeacherSawTheChunkInItsSystemPrompt) {
  ChatModel& m = chat();
  double max_gap_without_chunk = 0;
  for (size_t i = 0; i < 4; ++i) {
    const auto& e = m.data.examples[i];
    std::vector<int32_t> chunk(m.corpus.begin() + e.chunk.begin, m.corpus.begin() + e.chunk.end);
    const auto ctx = teacher_context(m, m.tok->decode(chunk));
    ASSERT_EQ(ctx.front(), 128000);
    // Stored top-k == the model's log-probs with the chunk's system prompt
    // before the conversation (the stored ones came from a padded batch).
    auto ref = logprobs_at(*m.tf, ctx, e.tokens, e.topk_ids, 20);
    for (size_t j = 0; j < ref.size(); ++j) ASSERT_NEAR(e.topk_logprobs[j], ref[j], 2e-4) << "example " << i << " entry " << j;
    // ...and sorted, i.e. a top-k.
    for (size_t t = 0; t < e.tokens.size(); ++t)
      for (size_t r = 1; r < 20; ++r) ASSERT_GE(e.topk_logprobs[t * 20 + r - 1], e.topk_logprobs[t * 20 + r]);
    // The same conversation under a system prompt without the chunk reads
    // differently: the chunk is what the teacher knows and the student not.
    auto bare = logprobs_at(*m.tf, teacher_context(m, ""), e.tokens, e.topk_ids, 20);
    for (size_t j = 0; j < ref.size(); ++j)
      max_gap_without_chunk = std::max(max_gap_without_chunk, static_cast<double>(std::fabs(bare[j] - ref[j])));
  }
  EXPECT_GT(max_gap_without_chunk, 1e-3);
}

TEST(ChatSelfStudy, SynthesisIsDeterministicInItsSeed) {
  ChatModel& m = chat();
  SynthesisOptions o = m.options;
  o.conversations = 4;
  SyntheticDataset again = synthesize(*m.tf, *m.tok, m.corpus, o);
  ASSERT_EQ(again.examples.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(again.examples[i].tokens, m.data.examples[i].tokens);
    EXPECT_EQ(again.examples[i].topk_ids, m.data.examples[i].topk_ids);
  }
  o.seed = 4;
  SyntheticDataset other = synthesize(*m.tf, *m.tok, m.corpus, o);
  EXPECT_NE(other.examples[0].tokens, m.data.examples[0].tokens);
}

TEST(ChatSelfStudy, ACartridgeTrainsOnTheChatConversations) {
  ChatModel& m = chat();
  std::vector<int32_t> with_bos{m.tok->bos_id()};
  with_bos.insert(with_bos.end(), m.corpus.begin(), m.corpus.end());
  // Four conversations, all of them in every step, so that the losses of
  // successive steps are over the same tokens. (Each step is a log-softmax
  // over 128,256 ids at every position: the vocabulary, not the model,
  // sets the cost here.)
  SyntheticDataset four;
  four.top_k = m.data.top_k;
  four.examples.assign(m.data.examples.begin(), m.data.examples.begin() + 4);
  TrainOptions to;
  to.steps = 6;
  to.batch_size = 4;
  to.seed = 1;
  CartridgeTrainer trainer(*m.tf, four, initial_cartridge(*m.tf, with_bos, 16), to);
  TrainResult r = trainer.train();
  ASSERT_EQ(r.losses.size(), 6u);
  for (size_t i = 1; i < r.losses.size(); ++i)
    EXPECT_LT(r.losses[i], r.losses[i - 1]) << "step " << i << ": the loss must fall at every step on fixed data";
  EXPECT_LT(r.losses.back(), 0.99 * r.losses.front()) << "first " << r.losses.front() << " last " << r.losses.back();
  EXPECT_EQ(r.cartridge.tokens(), 16);
}

// The evaluation tool on a chat model: the ICL teacher has the corpus in the
// system prompt self-study used, and a probe is a user turn whose answer
// starts with the continuation.
TEST(ChatSelfStudy, EvaluationScoresChatModelsInTheirTemplate) {
  ChatModel& m = chat();
  const auto probes = parse_probes(
      R"({"prompt": "The girl who had a frog was named", "continuation": " Zuli."}
{"prompt": "What was the frog called?", "choices": [" Bimbo", " Kato", " Roxy"], "answer": 0})",
      "test probes");
  EvalOptions eo;
  eo.modes = {EvalMode::None, EvalMode::Icl, EvalMode::Truncation, EvalMode::SelfStudy};
  eo.cartridge_tokens = 16;
  eo.synthesis = m.options;
  eo.synthesis.conversations = 4;
  eo.train.steps = 2;
  eo.train.batch_size = 4;
  eo.heldout_tokens = 8;
  eo.general_text = "The sun was warm and the sky was blue.";
  EvalReport r = evaluate(*m.tf, *m.tok, test::kStoriesCorpus, probes, eo);

  const auto context = teacher_context(m, m.tok->decode(m.corpus));
  EXPECT_EQ(r.icl_tokens, static_cast<int64_t>(context.size()));
  EXPECT_TRUE(r.icl_whole_corpus);
  const ModeReport* icl = r.find(EvalMode::Icl);
  const ModeReport* none = r.find(EvalMode::None);
  const ModeReport* ss = r.find(EvalMode::SelfStudy);
  ASSERT_TRUE(icl && none && ss && r.find(EvalMode::Truncation));
  EXPECT_NEAR(icl->heldout_kl, 0.0, 1e-6);
  EXPECT_GT(none->heldout_kl, 0.0);
  EXPECT_NEAR(icl->gain_recovered, 1.0, 1e-9);
  EXPECT_NEAR(none->gain_recovered, 0.0, 1e-9);
  EXPECT_EQ(ss->losses.size(), 2u);
  EXPECT_GE(ss->mc_accuracy, 0.0);
  EXPECT_LE(ss->mc_accuracy, 1.0);
  EXPECT_TRUE(std::isfinite(ss->general_ll));

  // ICL's likelihood, by hand: the probe's prompt as the user turn (without
  // the BOS, which the context starts with), "Zuli." as the answer.
  Cartridge ctx;
  {
    at::InferenceMode guard;
    ctx = m.tf->prefill_cartridge(context);
  }
  auto turn = m.tok->encode(render_chat(ChatFormat::Llama3, {{"user", "The girl who had a frog was named"}}, true), false);
  turn.erase(turn.begin());
  const auto cont = m.tok->encode("Zuli.", false);
  const SequenceScore want = score_continuation(*m.tf, ctx, turn, cont);
  // ll_per_token pools the first probe's tokens only (the second has choices
  // and is scored by its first choice, " Bimbo"...): recompute that pool.
  auto turn2 = m.tok->encode(render_chat(ChatFormat::Llama3, {{"user", "What was the frog called?"}}, true), false);
  turn2.erase(turn2.begin());
  const SequenceScore want2 = score_continuation(*m.tf, ctx, turn2, m.tok->encode("Bimbo", false));
  EXPECT_NEAR(icl->ll_per_token, (want.logprob + want2.logprob) / static_cast<double>(want.tokens + want2.tokens), 1e-5);
}

// The same contract in ChatML (Qwen3's template: no BOS, <|im_start|>
// turns, an empty <think> block before the answer) on a tiny Qwen3 shape
// with the real Qwen3 tokenizer and its 151,936-entry vocabulary.
TEST(ChatSelfStudy, Qwen3ChatMLConversationsKeepTheContract) {
  test::TempDir dir("qwen3-model");
  test::write_tiny_chat_model(dir.path(), 7, "qwen3");
  ASSERT_EQ(detect_chat_format(dir.path()), ChatFormat::ChatML);
  auto tok = load_tokenizer(dir.path());
  Transformer tf(load_model(dir.path()));
  EXPECT_EQ(tf.config().vocab_size, test::kQwen3Vocab);
  EXPECT_LT(tok->bos_id(), 0) << "Qwen3 has no BOS";
  const auto corpus = tok->encode(test::kStoriesCorpus, false);
  const SyntheticDataset d = synthesize(tf, *tok, corpus, small_synthesis(ChatFormat::ChatML, 4, 16, 24));
  ASSERT_EQ(d.examples.size(), 4u);
  const auto user = tok->encode("<|im_start|>user\n", false);
  const auto assistant = tok->encode("<|im_end|>\n<|im_start|>assistant\n", false);
  ASSERT_EQ(user.front(), 151644) << "<|im_start|> is one special token";
  for (const auto& e : d.examples) {
    EXPECT_TRUE(starts_with(e.tokens, user)) << tok->decode(e.tokens);
    EXPECT_EQ(count_of(e.tokens, user), 1) << tok->decode(e.tokens);
    EXPECT_EQ(count_of(e.tokens, assistant), 1) << tok->decode(e.tokens);
  }
  const auto& e = d.examples[0];
  std::vector<int32_t> chunk(corpus.begin() + e.chunk.begin, corpus.begin() + e.chunk.end);
  const auto ctx = tok->encode(
      render_chat(ChatFormat::ChatML, {{"system", chat_system_prompt(kDescription, tok->decode(chunk))}}, false), false);
  const auto ref = logprobs_at(tf, ctx, e.tokens, e.topk_ids, 20);
  for (size_t j = 0; j < ref.size(); ++j) ASSERT_NEAR(e.topk_logprobs[j], ref[j], 2e-4) << "entry " << j;
}

}  // namespace
}  // namespace cdb
