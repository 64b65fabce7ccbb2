#include "jobs/training_job.h"

#include <chrono>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "engine/cartridge_store.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/transformer.h"
#include "jobs/corpus_options.h"
#include "jobs/job_table.h"
#include "jobs/train_params.h"
#include "storage/artifact_store.h"
#include "storage/blob_store.h"
#include "storage/store.h"
#include "train/cartridge_trainer.h"
#include "train/synthesizer.h"
#include "train/synthetic_dataset.h"

namespace cdb {

namespace {

// Shares of the job's progress fraction: synthesis is the first part.
constexpr double kSynthesisShare = 0.3;

std::string fmt_eta(double s) {
  if (!(s >= 0) || !std::isfinite(s)) return "?";
  char b[32];
  if (s < 60) std::snprintf(b, sizeof b, "%.0fs", s);
  else std::snprintf(b, sizeof b, "%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  return b;
}

}  // namespace

std::string TrainingJob::scratch_prefix(int64_t job_id) { return "job/" + std::to_string(job_id) + "/"; }

void TrainingJob::erase_scratch(BlobStore& scratch, int64_t job_id) {
  const std::string prefix = scratch_prefix(job_id);
  std::vector<std::string> keys;
  {
    auto r = scratch.read();
    r.for_each(prefix, [&](std::string_view k, size_t) { keys.emplace_back(k); });
  }
  if (keys.empty()) return;
  scratch.write([&](BlobStore::WriteTxn& w) {
    for (const auto& k : keys) w.erase(k);
  });
}

int64_t TrainingJob::run() {
  Catalog& cat = ctx_.store.catalog();
  const TrainParams params = TrainParams::from_json(job_.params);
  if (!job_.corpus_id) throw NotFound("job " + std::to_string(job_.id) + " has no corpus (it was dropped)");
  const int64_t corpus_id = *job_.corpus_id;
  std::optional<CorpusRow> corpus;
  for (auto& c : cat.list_corpora())
    if (c.id == corpus_id) corpus = c;
  if (!corpus) throw NotFound("job " + std::to_string(job_.id) + ": its corpus was dropped");
  const CorpusOptions copts = CorpusOptions::from_json(corpus->options, corpus->description);
  auto version = cat.latest_version(corpus_id);
  auto docs = cat.list_documents(corpus_id);
  if (!version || docs.empty())
    throw InvalidArgument("corpus '" + corpus->name + "' has no documents to train on; ADD DOCUMENT or LOAD FILE first");
  JobTable(cat).set_version(job_.id, version->version);

  // 1. The corpus's tokens.
  std::string text;
  for (const auto& d : docs) {
    if (!text.empty()) text += "\n\n";
    text += ctx_.store.read_document(d);
  }
  std::vector<int32_t> corpus_tokens = ctx_.tokenizer.encode(text, false);
  if (corpus_tokens.empty()) throw InvalidArgument("corpus '" + corpus->name + "' tokenizes to nothing");
  std::vector<int32_t> with_bos;
  if (ctx_.tokenizer.bos_id() >= 0) with_bos.push_back(ctx_.tokenizer.bos_id());
  with_bos.insert(with_bos.end(), corpus_tokens.begin(), corpus_tokens.end());
  const int64_t window = ctx_.model.config().max_seq_len;
  int64_t p = params.tokens > 0 ? params.tokens : copts.cartridge_tokens;
  // A Cartridge cannot start from more tokens than the corpus has, and must
  // leave room in the window for a question and its answer.
  p = std::min<int64_t>({p, static_cast<int64_t>(with_bos.size()), window / 2});
  if (p < 2) throw InvalidArgument("corpus '" + corpus->name + "' is too short for a Cartridge (needs 2 tokens)");

  const std::string prefix = scratch_prefix(job_.id) + "v" + std::to_string(version->version) + "/";
  const auto t0 = std::chrono::steady_clock::now();

  // 2. Self-study data (kept in scratch so a resume skips it).
  BlobArtifacts scratch(ctx_.scratch);
  SyntheticDataset data;
  if (has_dataset(scratch, prefix)) {
    data = load_dataset(scratch, prefix);
  } else {
    SynthesisOptions so;
    so.conversations = params.conversations;
    so.batch_size = std::min<int64_t>(params.batch_size, params.conversations);
    so.conversations_per_chunk = params.conversations_per_chunk;
    so.corpus_description = copts.description;
    so.format = ctx_.format;
    so.b_temperature = params.temperature;
    so.b_max_tokens = params.max_new_tokens;
    so.a_max_tokens = params.max_new_tokens;
    so.seed = static_cast<uint64_t>(params.seed);
    const SynthesisCallback progress = [&](int64_t done, int64_t total) {
      JobProgress pr;
      pr.phase = "synthesizing";
      pr.fraction = kSynthesisShare * static_cast<double>(done) / static_cast<double>(std::max<int64_t>(total, 1));
      pr.total_steps = params.steps;
      pr.message = "synthesizing " + std::to_string(done) + "/" + std::to_string(total) + " conversations";
      control_.report(pr);
      return !control_.stop_requested();
    };
    // On the serving engine where there is one, as background work that
    // yields to live questions; else on a private engine.
    data = ctx_.scheduler ? synthesize(*ctx_.scheduler, ctx_.tokenizer, corpus_tokens, so, progress)
                          : synthesize(ctx_.model, ctx_.tokenizer, corpus_tokens, so, progress);
    save_dataset(scratch, prefix, data);
  }
  if (control_.stop_requested()) throw Cancelled("job " + std::to_string(job_.id) + " stopped");

  // 3. Training, with checkpoints.
  TrainOptions to;
  to.steps = params.steps;
  to.batch_size = params.batch_size;
  to.adam.lr = params.lr;
  to.seed = static_cast<uint64_t>(params.seed);
  to.checkpoint_every = params.checkpoint_every;
  Cartridge init = initial_cartridge(ctx_.model, with_bos, p);
  CartridgeTrainer trainer(ctx_.model, data, init, to);
  trainer.use_checkpoints(scratch, prefix);
  double last_tps = 0;
  TrainResult res = trainer.train([&](const TrainProgress& tp) {
    last_tps = tp.tokens_per_s;
    JobProgress pr;
    pr.phase = "training";
    pr.step = tp.step;
    pr.total_steps = tp.total_steps;
    pr.loss = tp.loss;
    pr.tokens_per_s = tp.tokens_per_s;
    pr.eta_s = tp.eta_s;
    pr.checkpointed = tp.checkpointed;
    pr.fraction = kSynthesisShare + (1 - kSynthesisShare) * static_cast<double>(tp.step) /
                                        static_cast<double>(std::max<int64_t>(tp.total_steps, 1));
    char b[160];
    std::snprintf(b, sizeof b, "step %lld/%lld loss %.4f %.0f tok/s eta %s", static_cast<long long>(tp.step),
                  static_cast<long long>(tp.total_steps), tp.loss, tp.tokens_per_s, fmt_eta(tp.eta_s).c_str());
    pr.message = b;
    control_.report(pr);
    return !control_.stop_requested();
  });
  if (res.cancelled) throw Cancelled("job " + std::to_string(job_.id) + " stopped at a checkpoint");

  // 4. The new version, visible when its row commits.
  JobProgress pr;
  pr.phase = "saving";
  pr.fraction = 1.0;
  pr.step = pr.total_steps = params.steps;
  if (!res.losses.empty()) pr.loss = res.losses.back();
  pr.tokens_per_s = last_tps;
  pr.message = "saving the Cartridge";
  control_.report(pr);
  nlohmann::json m;
  m["job"] = job_.id;
  m["steps"] = params.steps;
  m["lr"] = params.lr;
  m["conversations"] = params.conversations;
  m["corpus_tokens"] = corpus_tokens.size();
  if (!res.losses.empty()) {
    m["first_loss"] = res.losses.front();
    m["final_loss"] = res.losses.back();
  }
  m["resumed_from"] = res.resumed_from;
  m["wall_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CartridgeRow meta;
  meta.corpus_id = corpus_id;
  meta.corpus_version = version->version;
  meta.model_fingerprint = ctx_.model_fingerprint;
  meta.metrics = m.dump();
  CartridgeRow row = save_cartridge(ctx_.store, meta, res.cartridge);
  erase_scratch(ctx_.scratch, job_.id);
  return row.id;
}

}  // namespace cdb
