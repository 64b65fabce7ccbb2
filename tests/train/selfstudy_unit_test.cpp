// Unit tests of the self-study building blocks that need no model.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <filesystem>
#include <set>

#include "common/error.h"
#include "storage/artifact_store.h"
#include "storage/blob_store.h"
#include "storage/store.h"
#include "support/temp_dir.h"
#include "train/adam.h"
#include "train/chunker.h"
#include "train/data_order.h"
#include "train/distill_loss.h"
#include "train/evaluator.h"
#include "train/probe.h"
#include "train/seed_prompts.h"
#include "train/seeded_rng.h"
#include "train/synthesizer.h"
#include "train/synthetic_dataset.h"
#include "train/training_checkpoint.h"

namespace cdb {
namespace {

TEST(SeededRng, IsAPureFunctionOfItsCoordinates) {
  SeededRng a(1, RngStream::Chunk, 5), b(1, RngStream::Chunk, 5), c(1, RngStream::Chunk, 6),
      d(2, RngStream::Chunk, 5), e(1, RngStream::Sampling, 5);
  uint64_t x = a.next();
  EXPECT_EQ(x, b.next());
  EXPECT_NE(x, c.next());
  EXPECT_NE(x, d.next());
  EXPECT_NE(x, e.next());
  SeededRng r(9, RngStream::DataOrder, 0);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_LT(r.below(7), 7u);
    double u = r.uniform();
    EXPECT_GE(u, 0.0);
    EXPECT_LT(u, 1.0);
  }
}

TEST(Chunker, WindowsStayInsideTheCorpusAndTheLengthRange) {
  Chunker ch(1000, 100, 300);
  std::set<int64_t> begins;
  for (uint64_t i = 0; i < 500; ++i) {
    SeededRng r(3, RngStream::Chunk, i);
    ChunkSpan s = ch.sample(r);
    EXPECT_GE(s.begin, 0);
    EXPECT_LE(s.end, 1000);
    EXPECT_GE(s.size(), 100);
    EXPECT_LE(s.size(), 300);
    begins.insert(s.begin);
  }
  EXPECT_GT(begins.size(), 100u);
  // A corpus shorter than the minimum is its own chunk.
  Chunker small(50, 512, 4096);
  SeededRng r(0, RngStream::Chunk, 0);
  ChunkSpan s = small.sample(r);
  EXPECT_EQ(s.begin, 0);
  EXPECT_EQ(s.end, 50);
  EXPECT_THROW(Chunker(0, 1, 2), InvalidArgument);
  EXPECT_THROW(Chunker(10, 5, 2), InvalidArgument);
}

TEST(SeedPrompts, SentencesAndOpenersComeFromTheChunk) {
  auto s = split_sentences("ing home. Tom had a dog named Roxy! \"Hi,\" said Mia.\nThe end");
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[1], "Tom had a dog named Roxy!");
  EXPECT_EQ(s[3], "The end");
  const std::string chunk = "ing home. Tom had a dog named Roxy. Roxy liked to dig in the garden.";
  int from_chunk = 0;
  for (uint64_t i = 0; i < 200; ++i) {
    SeededRng r(1, RngStream::SeedPrompt, i);
    SeedPrompt p = sample_base_opener(chunk, r, 0.75, 4);
    ASSERT_FALSE(p.text.empty());
    if (p.kind == SeedKind::Opener) {
      ++from_chunk;
      // The first 1-4 words of a full sentence (the cut first one is skipped).
      EXPECT_TRUE(p.text.rfind("Tom", 0) == 0 || p.text.rfind("Roxy", 0) == 0) << p.text;
      EXPECT_LE(std::count(p.text.begin(), p.text.end(), ' '), 3);
    } else {
      EXPECT_NE(std::find(generic_openers().begin(), generic_openers().end(), p.text), generic_openers().end());
    }
  }
  EXPECT_GT(from_chunk, 120);
  EXPECT_LT(from_chunk, 190);
  for (const auto& h : heldout_openers())
    EXPECT_EQ(std::find(generic_openers().begin(), generic_openers().end(), h), generic_openers().end()) << h;
  std::set<SeedKind> kinds;
  for (uint64_t i = 0; i < 200; ++i) {
    SeededRng r(2, RngStream::SeedPrompt, i);
    kinds.insert(sample_chat_seed(r).kind);
  }
  EXPECT_EQ(kinds.size(), 6u);
}

TEST(Probes, ParseLikelihoodAndChoiceLinesAndRejectBadOnes) {
  auto p = parse_probes("{\"prompt\": \"a\", \"continuation\": \" b\"}\n\n"
                        "{\"prompt\": \"c\", \"choices\": [\" x\", \" y\"], \"answer\": 1}\n",
                        "t");
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].continuation, " b");
  EXPECT_TRUE(p[0].choices.empty());
  EXPECT_EQ(p[1].continuation, " y");
  EXPECT_EQ(p[1].answer, 1);
  EXPECT_THROW(parse_probes("{\"prompt\": \"a\"}", "t"), InvalidArgument);
  EXPECT_THROW(parse_probes("not json", "t"), InvalidArgument);
  EXPECT_THROW(parse_probes("{\"prompt\": \"a\", \"choices\": [\"x\", \"y\"], \"answer\": 2}", "t"), InvalidArgument);
  EXPECT_THROW(parse_probes("", "t"), InvalidArgument);
  EXPECT_THROW(load_probes("/nonexistent/probes.jsonl"), NotFound);
  EXPECT_EQ(parse_eval_modes("all").size(), 5u);
  EXPECT_EQ(parse_eval_modes("icl,none").size(), 2u);
  EXPECT_THROW(parse_eval_modes("icl,bogus"), InvalidArgument);
}

TEST(DataOrder, IsAPureFunctionOfSeedAndStepAndCoversEachEpoch) {
  auto a = sample_indices(5, 10, 0, 25);
  auto b = sample_indices(5, 10, 0, 25);
  EXPECT_EQ(a, b);
  // Any slice equals the same slice of the whole sequence.
  auto mid = sample_indices(5, 10, 13, 7);
  EXPECT_EQ(mid, std::vector<int64_t>(a.begin() + 13, a.begin() + 20));
  std::set<int64_t> epoch0(a.begin(), a.begin() + 10);
  EXPECT_EQ(epoch0.size(), 10u);
  EXPECT_NE(std::vector<int64_t>(a.begin(), a.begin() + 10), std::vector<int64_t>(a.begin() + 10, a.begin() + 20));
  EXPECT_NE(sample_indices(6, 10, 0, 10), std::vector<int64_t>(a.begin(), a.begin() + 10));
}

TEST(Adam, MatchesTheClosedFormOfItsFirstSteps) {
  at::Tensor p = at::tensor({1.0f, -2.0f});
  Adam adam({p}, AdamOptions{.lr = 0.1});
  adam.step({p}, {at::tensor({0.5f, -0.25f})});
  // Step 1: mhat = g, vhat = g^2, so the update is lr * sign(g) (up to eps).
  EXPECT_NEAR(p[0].item<float>(), 0.9f, 1e-6);
  EXPECT_NEAR(p[1].item<float>(), -1.9f, 1e-6);
  adam.step({p}, {at::tensor({0.5f, 0.25f})});
  // Step 2, element 1: m = 0.1*(0.9*-0.25 + 0.1*0.25)... computed directly.
  double m = 0.9 * (0.1 * -0.25) + 0.1 * 0.25, v = 0.999 * (0.001 * 0.0625) + 0.001 * 0.0625;
  double upd = 0.1 * (m / (1 - 0.81)) / (std::sqrt(v / (1 - 0.998001)) + 1e-8);
  EXPECT_NEAR(p[1].item<float>(), -1.9 - upd, 1e-6);
  EXPECT_EQ(adam.steps(), 2);
  Adam other({p}, AdamOptions{.lr = 0.1});
  other.restore(adam.steps(), adam.first_moments(), adam.second_moments());
  at::Tensor q = p.clone();
  adam.step({p}, {at::tensor({0.1f, 0.1f})});
  other.step({q}, {at::tensor({0.1f, 0.1f})});
  EXPECT_TRUE(at::equal(p, q));
}

TEST(DistillLoss, IsCrossEntropyForOneHotTeachersAndMasksPadding) {
  at::Tensor logits = at::randn({2, 3, 7}, at::TensorOptions().dtype(at::kFloat));
  at::Tensor ids = at::randint(0, 7, {2, 3, 1}, at::kLong);
  at::Tensor lps = at::zeros({2, 3, 1});
  at::Tensor mask = at::ones({2, 3});
  mask[1][2] = 0;
  double got = distill_loss_sum(logits, ids, lps, mask).item<double>();
  at::Tensor ls = at::log_softmax(logits, -1);
  double want = 0;
  for (int b = 0; b < 2; ++b)
    for (int t = 0; t < 3; ++t)
      if (!(b == 1 && t == 2)) want -= ls[b][t][ids[b][t][0].item<int64_t>()].item<double>();
  EXPECT_NEAR(got, want, 1e-5);
  // A teacher equal to the student: the loss is the student's entropy over
  // the top-k, which the full top-k (k = V) makes exact.
  auto [v, i] = ls.topk(7, -1);
  double ent = -(ls.exp() * ls).sum().item<double>();
  EXPECT_NEAR(distill_loss_sum(logits, i, v, at::ones({2, 3})).item<double>(), ent, 1e-4);
}

SyntheticDataset sample_dataset() {
  SyntheticDataset d = corpus_ntp_dataset({5, 6, 7, 8, 9, 10, 11, 12}, 4, 3, 1);
  d.examples[1].topk_logprobs[2] = -1.5f;
  d.examples[2].seed_kind = 3;
  return d;
}

TrainingCheckpoint sample_checkpoint() {
  TrainingCheckpoint c;
  c.run_fingerprint = "fp";
  c.step = 7;
  c.losses = {3.0, 2.5};
  c.cartridge.keys = {at::randn({2, 4, 8}), at::randn({2, 4, 8})};
  c.cartridge.values = {at::randn({2, 4, 8}), at::randn({2, 4, 8})};
  c.adam_steps = 7;
  c.adam_m = {at::randn({2, 3, 8})};
  c.adam_v = {at::rand({2, 3, 8})};
  return c;
}

void expect_same(const SyntheticDataset& e, const SyntheticDataset& d) {
  EXPECT_EQ(e.top_k, d.top_k);
  ASSERT_EQ(e.examples.size(), d.examples.size());
  for (size_t i = 0; i < d.examples.size(); ++i) {
    EXPECT_EQ(e.examples[i].tokens, d.examples[i].tokens);
    EXPECT_EQ(e.examples[i].topk_ids, d.examples[i].topk_ids);
    EXPECT_EQ(e.examples[i].topk_logprobs, d.examples[i].topk_logprobs);
    EXPECT_EQ(e.examples[i].chunk.begin, d.examples[i].chunk.begin);
    EXPECT_EQ(e.examples[i].chunk.end, d.examples[i].chunk.end);
    EXPECT_EQ(e.examples[i].seed_kind, d.examples[i].seed_kind);
  }
}

// Bit-exact: a resumed run must continue exactly where it stopped.
void expect_same(const TrainingCheckpoint& r, const TrainingCheckpoint& c) {
  EXPECT_EQ(r.run_fingerprint, c.run_fingerprint);
  EXPECT_EQ(r.step, c.step);
  EXPECT_EQ(r.adam_steps, c.adam_steps);
  EXPECT_EQ(r.losses, c.losses);
  ASSERT_EQ(r.cartridge.keys.size(), c.cartridge.keys.size());
  for (size_t l = 0; l < c.cartridge.keys.size(); ++l) {
    EXPECT_TRUE(at::equal(r.cartridge.keys[l], c.cartridge.keys[l]));
    EXPECT_TRUE(at::equal(r.cartridge.values[l], c.cartridge.values[l]));
  }
  ASSERT_EQ(r.adam_m.size(), 1u);
  EXPECT_TRUE(at::equal(r.adam_m[0], c.adam_m[0]));
  EXPECT_TRUE(at::equal(r.adam_v[0], c.adam_v[0]));
}

TEST(SyntheticDataset, IsAnNtpDatasetOfTheNextCorpusTokens) {
  SyntheticDataset d = corpus_ntp_dataset({5, 6, 7, 8, 9, 10, 11, 12}, 4, 3, 1);
  ASSERT_EQ(d.examples.size(), 4u);
  EXPECT_EQ(d.top_k, 1);
  for (const auto& e : d.examples) {
    ASSERT_EQ(e.tokens.size(), 3u);
    for (size_t i = 0; i < 3; ++i) EXPECT_EQ(e.topk_ids[i], e.tokens[i] + 1);  // the next corpus token
  }
}

// The planner's scratch: a bare BlobStore, no catalog.
TEST(SyntheticDataset, DatasetAndCheckpointRoundTripThroughABlobStore) {
  test::TempDir tmp("train-blobs");
  const SyntheticDataset d = sample_dataset();
  const TrainingCheckpoint c = sample_checkpoint();
  {
    BlobStore blobs(tmp.path());
    BlobArtifacts store(blobs);
    EXPECT_FALSE(has_dataset(store, "x/"));
    EXPECT_THROW(load_dataset(store, "x/"), NotFound);
    EXPECT_FALSE(load_checkpoint(store, "x/").has_value());
    save_dataset(store, "x/", d);
    save_checkpoint(store, "x/", c);
    EXPECT_TRUE(has_dataset(store, "x/"));
  }
  BlobStore blobs(tmp.path());
  BlobArtifacts store(blobs);
  expect_same(load_dataset(store, "x/"), d);
  auto r = load_checkpoint(store, "x/");
  ASSERT_TRUE(r.has_value());
  expect_same(*r, c);
}

// `cartridge eval --store`: a Store, whose open-time garbage collection
// deletes blobs that no catalog row references. Dataset and checkpoint must
// survive closing and reopening it, and a newer checkpoint must replace the
// old one without leaving its blobs behind.
TEST(SyntheticDataset, DatasetAndCheckpointSurviveReopeningAStore) {
  test::TempDir tmp("train-store");
  const SyntheticDataset d = sample_dataset();
  TrainingCheckpoint c = sample_checkpoint();
  size_t blobs_after_first_save = 0;
  {
    Store s(tmp.path());
    StoreArtifacts store(s);
    EXPECT_FALSE(has_dataset(store, "eval/run/"));
    save_dataset(store, "eval/run/", d);
    save_checkpoint(store, "eval/run/", c);
    blobs_after_first_save = s.stats().blob_entries;
    EXPECT_EQ(s.list_artifacts("eval/run/data").size(), 6u);
    EXPECT_EQ(s.list_artifacts("eval/run/ckpt").size(), 4u);
  }
  {
    Store s(tmp.path());
    EXPECT_EQ(s.open_report().orphan_blobs_removed, 0u) << "the store's GC took the run's blobs for orphans";
    EXPECT_TRUE(s.open_report().missing.empty());
    EXPECT_EQ(s.stats().blob_entries, blobs_after_first_save);
    StoreArtifacts store(s);
    ASSERT_TRUE(has_dataset(store, "eval/run/"));
    expect_same(load_dataset(store, "eval/run/"), d);
    auto r = load_checkpoint(store, "eval/run/");
    ASSERT_TRUE(r.has_value());
    expect_same(*r, c);
    // The next checkpoint of the run replaces this one.
    c.step = 9;
    c.losses.push_back(2.25);
    c.cartridge.keys[0] += 1;
    save_checkpoint(store, "eval/run/", c);
    EXPECT_TRUE(s.verify_all().ok());
  }
  Store s(tmp.path());
  EXPECT_EQ(s.open_report().orphan_blobs_removed, 0u);
  EXPECT_EQ(s.stats().blob_entries, blobs_after_first_save);  // old checkpoint's blobs are gone
  StoreArtifacts store(s);
  auto r = load_checkpoint(store, "eval/run/");
  ASSERT_TRUE(r.has_value());
  expect_same(*r, c);
  expect_same(load_dataset(store, "eval/run/"), d);
}

// A dataset whose arrays disagree is refused with CorruptData, not read
// past its end.
TEST(SyntheticDataset, InconsistentStoredArraysAreCorruptData) {
  test::TempDir tmp("train-bad");
  Store s(tmp.path());
  StoreArtifacts store(s);
  save_dataset(store, "x/", sample_dataset());
  std::vector<int64_t> offsets{0, 3, 6, 9, 99};  // past the end of the tokens
  std::vector<NamedTensor> tensors;
  std::vector<DecodedTensor> keep;
  for (const auto& row : s.list_artifacts("x/data")) {
    keep.push_back(s.read_artifact("x/data", row.name));
    const DecodedTensor& t = keep.back();
    if (row.name == "offsets")
      tensors.push_back({row.name, {DType::I64, {5}, offsets.data()}});
    else
      tensors.push_back({row.name, {t.dtype(), t.shape(), t.data()}});
  }
  s.put_artifacts("x/data", tensors, s.list_artifacts("x/data").front().meta);
  EXPECT_THROW(load_dataset(store, "x/"), CorruptData);
}

}  // namespace
}  // namespace cdb
