// The trainer's memory options on a real model (stories260K, CPU).
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "common/models_dir.h"
#include "engine/cpu_runtime.h"
#include "engine/load_model.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/transformer.h"
#include "selfstudy_corpus.h"
#include "train/cartridge_trainer.h"
#include "train/synthesizer.h"
#include "train/synthetic_dataset.h"

namespace cdb {
namespace {

TrainResult train_three_steps(Transformer& model, const SyntheticDataset& data, const Cartridge& init,
                              bool recompute) {
  TrainOptions o;
  o.steps = 3;
  o.batch_size = 4;
  o.seed = 5;
  o.activation_checkpointing = recompute;
  CartridgeTrainer trainer(model, data, init, o);
  return trainer.train();
}

TEST(CartridgeTrainer, ActivationCheckpointingTrainsTheSameCartridge) {
  auto tok = load_tokenizer(model_file("stories260K/tok512.bin"));
  Transformer model(load_model(model_file("stories260K/stories260K.bin")));
  set_compute_threads(1);
  std::vector<int32_t> corpus = tok->encode(test::kStoriesCorpus, false);
  corpus.insert(corpus.begin(), static_cast<int32_t>(tok->bos_id()));
  const SyntheticDataset data = corpus_ntp_dataset(corpus, 8, 24, 9);
  const Cartridge init = initial_cartridge(model, corpus, 8);

  const TrainResult kept = train_three_steps(model, data, init, false);
  const TrainResult recomputed = train_three_steps(model, data, init, true);
  ASSERT_EQ(kept.losses.size(), 3u);
  ASSERT_EQ(recomputed.losses.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_NEAR(recomputed.losses[i], kept.losses[i], 1e-5) << "step " << i;
  // Training moved the Cartridge, and both runs moved it alike.
  EXPECT_FALSE(at::allclose(kept.cartridge.keys[0], init.keys[0].to(at::kFloat)));
  for (size_t l = 0; l < kept.cartridge.keys.size(); ++l) {
    EXPECT_TRUE(at::allclose(recomputed.cartridge.keys[l], kept.cartridge.keys[l], 1e-4, 1e-5)) << "layer " << l;
    EXPECT_TRUE(at::allclose(recomputed.cartridge.values[l], kept.cartridge.values[l], 1e-4, 1e-5)) << "layer " << l;
  }
}

}  // namespace
}  // namespace cdb
