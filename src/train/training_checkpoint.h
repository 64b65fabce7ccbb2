// A training checkpoint: everything needed to continue a run exactly where
// it stopped. The data order is a pure function of (seed, step) and needs no
// saved state; the cartridge, the Adam moments and the step are saved
// bit-exact (f32, lossless codec) as one artifact scope replaced at once, so
// a run killed at any instant finds either the previous or the new
// checkpoint, whole.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/cartridge.h"

namespace cdb {

class ArtifactStore;

struct TrainingCheckpoint {
  std::string run_fingerprint;  // options + dataset identity; must match to resume
  int64_t step = 0;             // optimizer steps completed
  std::vector<double> losses;   // one per completed step
  Cartridge cartridge;          // the full cartridge (sink included)
  int64_t adam_steps = 0;
  std::vector<at::Tensor> adam_m, adam_v;  // per trainable tensor
};

// The artifact scope "<prefix>ckpt". Tensors are copied to CPU f32.
void save_checkpoint(ArtifactStore& store, const std::string& prefix, const TrainingCheckpoint& ckpt);
// nullopt when the prefix holds no checkpoint; CorruptData if it is damaged.
std::optional<TrainingCheckpoint> load_checkpoint(const ArtifactStore& store, const std::string& prefix);

}  // namespace cdb
