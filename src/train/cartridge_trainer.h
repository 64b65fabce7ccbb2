// Trains a Cartridge on a SyntheticDataset with the model frozen.
//
// Batching: the conversations of a micro-batch are packed into rows, first
// fit in data order, each row at most max(longest conversation,
// pack_tokens) tokens. In a row, a conversation attends to the Cartridge and
// its own earlier tokens only, at positions restarting after the Cartridge
// (Transformer::forward's segments), so packing changes no result beyond
// rounding; it saves the forward, backward and full-vocabulary log-softmax
// that padded positions would cost. The tail of a row is padding, masked out
// of the loss.
//
// The Cartridge's first token (the attention sink) stays frozen; the other
// p-1 keys and values per layer are trained with Adam. The loss of a step is
// averaged over all real tokens of its grad_accum micro-batches.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/cartridge.h"
#include "train/adam.h"

namespace cdb {

class ArtifactStore;
class Transformer;
struct SyntheticDataset;

struct TrainOptions {
  int64_t steps = 100;
  int64_t batch_size = 8;   // sequences per micro-batch
  int64_t grad_accum = 1;   // micro-batches per optimizer step
  bool pack = true;         // false: one conversation per row (right-padded)
  int64_t pack_tokens = 0;  // row length when packing, if above the longest conversation
  AdamOptions adam;         // lr 2e-2 by default
  uint64_t seed = 0;        // data order
  int64_t checkpoint_every = 0;  // steps; 0: only at the end and on cancel
  bool freeze_sink = true;
  // Recompute each layer in the backward pass instead of keeping its
  // activations (Transformer::forward's recompute_layers): the same
  // gradients, for one more forward; for models whose activations do not
  // fit the device at the packed batch size.
  bool activation_checkpointing = false;
};

struct TrainProgress {
  int64_t step = 0;  // steps completed
  int64_t total_steps = 0;
  double loss = 0;   // of the step just taken
  double tokens_per_s = 0;
  double eta_s = 0;
  bool checkpointed = false;  // a checkpoint of this step is in the store
};

// Return false to cancel (after the current step; a checkpoint is saved).
using TrainCallback = std::function<bool(const TrainProgress&)>;

struct TrainResult {
  Cartridge cartridge;
  std::vector<double> losses;  // per step, including steps before a resume
  int64_t resumed_from = 0;    // step of the checkpoint resumed from (0: fresh)
  bool cancelled = false;
  double wall_s = 0;           // this call's training time
};

class CartridgeTrainer {
 public:
  // `init`: the starting Cartridge (usually the KV of the corpus's first p
  // tokens, see initial_cartridge). The dataset must outlive the trainer.
  CartridgeTrainer(Transformer& model, const SyntheticDataset& data, const Cartridge& init, TrainOptions options);

  // Saves checkpoints under `prefix` and, if one is there, resumes from it
  // (InvalidArgument if it belongs to a run with other options or data).
  void use_checkpoints(ArtifactStore& store, std::string prefix);

  TrainResult train(const TrainCallback& callback = {});
  // A detached copy of the Cartridge as it stands (e.g. from the callback,
  // after the step it reports).
  Cartridge current() const;

  // Identifies options + dataset; checkpoints carry it.
  const std::string& run_fingerprint() const { return fingerprint_; }

 private:
  Cartridge assemble() const;  // sink + trainable parts, differentiable
  double step_once(int64_t step, int64_t* tokens);
  void save(int64_t step, const std::vector<double>& losses);

  Transformer& model_;
  const SyntheticDataset& data_;
  TrainOptions opt_;
  std::vector<at::Tensor> sink_k_, sink_v_;  // per layer [n_kv, s, hd], frozen
  std::vector<at::Tensor> params_;           // 2L leaves: keys then values
  Adam adam_;
  std::string fingerprint_;
  ArtifactStore* store_ = nullptr;
  std::string prefix_;
};

// The KV of the first p tokens of `corpus_with_bos` (which must hold at
// least p tokens): the paper's initialization and the truncation baseline.
Cartridge initial_cartridge(Transformer& model, const std::vector<int32_t>& corpus_with_bos, int64_t p);

}  // namespace cdb
