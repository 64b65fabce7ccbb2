// One training job: self-study for a corpus's current documents, then the
// Cartridge committed as a new ready version.
//
//  1. The corpus's documents (in insertion order, joined by blank lines) are
//     tokenized; the job records the corpus version it trains.
//  2. Self-study synthesizes conversations (train/synthesizer.h) and saves
//     them in the scratch store under "job/<id>/v<version>/": a resumed job
//     does not synthesize again.
//  3. CartridgeTrainer trains from the corpus's first p tokens, checkpointing
//     under the same prefix every checkpoint_every steps; a resumed job
//     continues from its last checkpoint.
//  4. The Cartridge is saved (tensors, then its row, ready: visible
//     atomically) and the scratch keys are deleted.
//
// Scratch lives in its own LMDB environment (<data dir>/scratch), not in
// the Store: the Store deletes at open every blob no catalog row names, and
// a job's checkpoints must survive exactly such a restart.
#pragma once

#include <cstdint>
#include <string>

#include "engine/tokenizer/chat_format.h"
#include "jobs/job_runner.h"

namespace cdb {

class BlobStore;
class Scheduler;
class Store;
class Tokenizer;
class Transformer;

struct TrainingContext {
  Store& store;
  BlobStore& scratch;
  Transformer& model;  // used by this job only (its own instance; weights shared)
  const Tokenizer& tokenizer;
  ChatFormat format = ChatFormat::Plain;
  std::string model_fingerprint;
  // The serving engine, where there is one: synthesis runs there as
  // background work, behind live questions. Null: a private engine.
  Scheduler* scheduler = nullptr;
};

class TrainingJob {
 public:
  TrainingJob(const TrainingContext& ctx, const JobRow& job, JobControl& control)
      : ctx_(ctx), job_(job), control_(control) {}

  // Returns the new Cartridge's id. Cancelled when stopped (the checkpoint
  // stays for a resume); other errors name what is wrong.
  int64_t run();

  // The scratch key prefix of a job (all its versions).
  static std::string scratch_prefix(int64_t job_id);
  // Deletes every scratch key of a job.
  static void erase_scratch(BlobStore& scratch, int64_t job_id);

 private:
  const TrainingContext& ctx_;
  JobRow job_;
  JobControl& control_;
};

}  // namespace cdb
