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
//  4. The Cartridge is published: its tensors, then ONE catalog transaction
//     that inserts its row (ready) and marks the job done, checking that
//     this node still holds the job's lease (JobControl::complete), so a
//     node that lost the job cannot publish over the one that took it.
//     Then the scratch keys are deleted.
//
// Scratch (TrainingContext::scratch) is an ArtifactStore outside the
// Store's own blobs: the Store deletes at open every blob no catalog row
// names, and a job's checkpoints must survive exactly such a restart. With
// the store's blobs in LMDB it is its own LMDB environment (<data
// dir>/scratch, BlobArtifacts); with blobs on S3 it is the bucket's
// scratch/ prefix (S3Artifacts), so that any node sharing the bucket
// resumes a job whose node died from that node's last checkpoint.
#pragma once

#include <cstdint>
#include <string>

#include "engine/tokenizer/chat_format.h"
#include "jobs/job_runner.h"

namespace cdb {

class ArtifactStore;
class Scheduler;
class Store;
class Tokenizer;
class Transformer;

struct TrainingContext {
  Store& store;
  ArtifactStore& scratch;
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

  // The scratch scope of a job (all its versions): "job/<id>".
  static std::string scratch_scope(int64_t job_id);
  // Deletes every scratch scope of a job.
  static void erase_scratch(ArtifactStore& scratch, int64_t job_id);

 private:
  const TrainingContext& ctx_;
  JobRow job_;
  JobControl& control_;
};

}  // namespace cdb
