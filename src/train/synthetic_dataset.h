// The output of data synthesis: conversations (token ids) with, at every
// position, the teacher's top-k next-token ids and log-probs computed with
// the chunk in context. Training reads only this, so a run can be resumed
// or repeated (other lr, other p) without synthesizing again.
//
// The same structure carries the next-token-prediction baseline: corpus
// windows whose one "teacher" token per position is the actual next token
// with log-prob 0 (k = 1).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "train/chunker.h"

namespace cdb {

class ArtifactStore;

struct SyntheticExample {
  std::vector<int32_t> tokens;        // the conversation, as the student reads it
  std::vector<int32_t> topk_ids;      // [tokens.size() * k]; position i predicts token i+1
  std::vector<float> topk_logprobs;   // [tokens.size() * k], teacher log-probs
  ChunkSpan chunk;                    // which corpus tokens the teacher saw
  int32_t seed_kind = 0;              // SeedKind of its seed prompt
};

struct SyntheticDataset {
  int64_t top_k = 0;
  std::vector<SyntheticExample> examples;

  int64_t total_tokens() const;
  // Throws CorruptData naming `what` if sizes disagree (used after loading).
  void validate(const std::string& what) const;
};

// Saved as the artifact scope "<prefix>data", replacing any previous dataset
// there at once. load_dataset throws NotFound when the scope is empty and
// CorruptData when what is stored is inconsistent.
void save_dataset(ArtifactStore& store, const std::string& prefix, const SyntheticDataset& data);
SyntheticDataset load_dataset(const ArtifactStore& store, const std::string& prefix);
bool has_dataset(const ArtifactStore& store, const std::string& prefix);

}  // namespace cdb
