// The JSON that a job row's params and a corpus row's options are kept as:
// every field comes back as it was stored, a missing one takes its default
// (rows written before the field existed), and a value of the wrong type is
// CorruptData rather than an internal error.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "jobs/corpus_options.h"
#include "jobs/train_params.h"

namespace cdb {
namespace {

TEST(JobParams, TrainParamsRoundTripWithAutoQueuedStoredAsAuto) {
  TrainParams p;
  p.steps = 7;
  p.tokens = 12;
  p.lr = 0.5;
  p.conversations = 3;
  p.batch_size = 2;
  p.seed = 9;
  p.checkpoint_every = 4;
  p.temperature = 0.25;
  p.max_new_tokens = 5;
  p.auto_queued = true;
  const std::string json = p.to_json();
  EXPECT_EQ(nlohmann::json::parse(json).at("auto"), true);  // the name JobTable's supersede rule reads
  const TrainParams q = TrainParams::from_json(json);
  EXPECT_EQ(nlohmann::json::parse(q.to_json()), nlohmann::json::parse(json));
  EXPECT_EQ(q.steps, 7);
  EXPECT_EQ(q.max_new_tokens, 5);
  EXPECT_TRUE(q.auto_queued);
}

TEST(JobParams, MissingFieldsTakeTheirDefaultsAndAWrongTypeIsCorruptData) {
  const TrainParams d;
  const TrainParams p = TrainParams::from_json(R"({"steps": 3})");
  EXPECT_EQ(p.steps, 3);
  EXPECT_EQ(p.conversations, d.conversations);
  EXPECT_DOUBLE_EQ(p.lr, d.lr);
  EXPECT_FALSE(p.auto_queued);
  EXPECT_THROW(TrainParams::from_json(R"({"steps": "many"})"), CorruptData);
  EXPECT_THROW(TrainParams::from_json("[1]"), CorruptData);

  const CorpusOptions o = CorpusOptions::from_json(R"({"auto_train": true})", "pets");
  EXPECT_TRUE(o.auto_train);
  EXPECT_EQ(o.description, "pets");
  EXPECT_EQ(o.cartridge_tokens, CorpusOptions{}.cartridge_tokens);
  EXPECT_EQ(CorpusOptions::from_json("", "").keep_versions, CorpusOptions{}.keep_versions);
  EXPECT_THROW(CorpusOptions::from_json(R"({"keep_versions": "two"})", ""), CorruptData);
  EXPECT_THROW(CorpusOptions::from_json("{not json", ""), CorruptData);
}

TEST(JobParams, CorpusOptionsRoundTripWithoutTheDescriptionWhichIsAColumn) {
  CorpusOptions o;
  o.description = "kept in its own column";
  o.cartridge_tokens = 33;
  o.auto_train = true;
  o.debounce_ms = 10;
  o.keep_versions = 4;
  o.train_steps = 8;
  o.train_conversations = 6;
  const std::string json = o.to_json();
  EXPECT_FALSE(nlohmann::json::parse(json).contains("description"));
  const CorpusOptions back = CorpusOptions::from_json(json, o.description);
  EXPECT_EQ(back.to_json(), json);
  EXPECT_EQ(back.description, o.description);
  EXPECT_EQ(back.train_conversations, 6);
}

}  // namespace
}  // namespace cdb
