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

// What step 1 gives the later steps.
struct CorpusTokens {
  std::vector<int32_t> tokens;    // the documents, without BOS
  std::vector<int32_t> with_bos;  // the same after BOS (when the tokenizer has one)
  int64_t p = 0;                  // the Cartridge's size in tokens
};

// 1. The corpus's tokens, and the Cartridge's size: no more tokens than the
// corpus has, and room left in the window for a question and its answer.
CorpusTokens corpus_tokens(const TrainingContext& ctx, const CorpusRow& corpus, const std::vector<DocumentRow>& docs,
                           int64_t window, int64_t wanted_p) {
  std::string text;
  for (const auto& d : docs) {
    if (!text.empty()) text += "\n\n";
    text += ctx.store.read_document(d);
  }
  CorpusTokens t;
  t.tokens = ctx.tokenizer.encode(text, false);
  if (t.tokens.empty()) throw InvalidArgument("corpus '" + corpus.name + "' tokenizes to nothing");
  if (ctx.tokenizer.bos_id() >= 0) t.with_bos.push_back(ctx.tokenizer.bos_id());
  t.with_bos.insert(t.with_bos.end(), t.tokens.begin(), t.tokens.end());
  t.p = std::min<int64_t>({wanted_p, static_cast<int64_t>(t.with_bos.size()), window / 2});
  if (t.p < 2) throw InvalidArgument("corpus '" + corpus.name + "' is too short for a Cartridge (needs 2 tokens)");
  return t;
}

// 2. Self-study data, kept in scratch under `prefix` so that a resume skips
// synthesizing it again.
SyntheticDataset self_study_data(const TrainingContext& ctx, JobControl& control, ArtifactStore& scratch,
                                 const std::string& prefix, const TrainParams& params, const CorpusOptions& copts,
                                 const std::vector<int32_t>& corpus_tokens) {
  if (has_dataset(scratch, prefix)) return load_dataset(scratch, prefix);
  SynthesisOptions so;
  so.conversations = params.conversations;
  so.batch_size = std::min<int64_t>(params.batch_size, params.conversations);
  so.conversations_per_chunk = params.conversations_per_chunk;
  so.corpus_description = copts.description;
  so.format = ctx.format;
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
    control.report(pr);
    return !control.stop_requested();
  };
  // On the serving engine where there is one, as background work that
  // yields to live questions; else on a private engine.
  SyntheticDataset data = ctx.scheduler ? synthesize(*ctx.scheduler, ctx.tokenizer, corpus_tokens, so, progress)
                                        : synthesize(ctx.model, ctx.tokenizer, corpus_tokens, so, progress);
  save_dataset(scratch, prefix, data);
  return data;
}

// 3. Training from the corpus's first p tokens, checkpointed under `prefix`.
// *tokens_per_s: the rate of the last step, for the final report.
TrainResult train_cartridge(const TrainingContext& ctx, JobControl& control, ArtifactStore& scratch,
                            const std::string& prefix, const TrainParams& params, const CorpusTokens& tokens,
                            const SyntheticDataset& data, double* tokens_per_s) {
  TrainOptions to;
  to.steps = params.steps;
  to.batch_size = params.batch_size;
  to.adam.lr = params.lr;
  to.seed = static_cast<uint64_t>(params.seed);
  to.checkpoint_every = params.checkpoint_every;
  Cartridge init = initial_cartridge(ctx.model, tokens.with_bos, tokens.p);
  CartridgeTrainer trainer(ctx.model, data, init, to);
  trainer.use_checkpoints(scratch, prefix);
  return trainer.train([&](const TrainProgress& tp) {
    *tokens_per_s = tp.tokens_per_s;
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
    control.report(pr);
    return !control.stop_requested();
  });
}

// 4. The new version, visible when its row commits. Returns its row.
CartridgeRow save_version(const TrainingContext& ctx, JobControl& control, const JobRow& job, const TrainParams& params,
                          const CorpusVersionRow& version, const CorpusTokens& tokens, const TrainResult& res,
                          double tokens_per_s, double wall_s) {
  JobProgress pr;
  pr.phase = "saving";
  pr.fraction = 1.0;
  pr.step = pr.total_steps = params.steps;
  if (!res.losses.empty()) pr.loss = res.losses.back();
  pr.tokens_per_s = tokens_per_s;
  pr.message = "saving the Cartridge";
  control.report(pr);
  nlohmann::json m;
  m["job"] = job.id;
  m["steps"] = params.steps;
  m["lr"] = params.lr;
  m["conversations"] = params.conversations;
  m["corpus_tokens"] = tokens.tokens.size();
  if (!res.losses.empty()) {
    m["first_loss"] = res.losses.front();
    m["final_loss"] = res.losses.back();
  }
  m["resumed_from"] = res.resumed_from;
  m["wall_s"] = wall_s;
  CartridgeRow meta;
  meta.corpus_id = version.corpus_id;
  meta.corpus_version = version.version;
  meta.model_fingerprint = ctx.model_fingerprint;
  meta.metrics = m.dump();
  // One transaction: the new version and the job's end, or neither.
  return save_cartridge(ctx.store, meta, res.cartridge, [&](const CartridgeRow& row) { control.complete(row.id); });
}

}  // namespace

std::string TrainingJob::scratch_scope(int64_t job_id) { return "job/" + std::to_string(job_id); }

void TrainingJob::erase_scratch(ArtifactStore& scratch, int64_t job_id) { scratch.remove(scratch_scope(job_id)); }

int64_t TrainingJob::run() {
  Catalog& cat = ctx_.store.catalog();
  const TrainParams params = TrainParams::from_json(job_.params);
  if (!job_.corpus_id) throw NotFound("job " + std::to_string(job_.id) + " has no corpus (it was dropped)");
  const int64_t corpus_id = *job_.corpus_id;
  const std::optional<CorpusRow> corpus = cat.find_corpus(corpus_id);
  if (!corpus) throw NotFound("job " + std::to_string(job_.id) + ": its corpus was dropped");
  const CorpusOptions copts = CorpusOptions::from_json(corpus->options, corpus->description);
  auto version = cat.latest_version(corpus_id);
  auto docs = cat.list_documents(corpus_id);
  if (!version || docs.empty())
    throw InvalidArgument("corpus '" + corpus->name +
                          "' has no documents to train on; ADD DOCUMENT or LOAD FILE first");
  JobTable(cat).set_version(job_.id, version->version);

  const CorpusTokens tokens = corpus_tokens(ctx_, *corpus, docs, ctx_.model.config().max_seq_len,
                                            params.tokens > 0 ? params.tokens : copts.cartridge_tokens);
  const auto t0 = std::chrono::steady_clock::now();
  const std::string prefix = scratch_scope(job_.id) + "/v" + std::to_string(version->version) + "/";
  ArtifactStore& scratch = ctx_.scratch;
  const SyntheticDataset data = self_study_data(ctx_, control_, scratch, prefix, params, copts, tokens.tokens);
  if (control_.stop_requested()) throw Cancelled("job " + std::to_string(job_.id) + " stopped");
  double tokens_per_s = 0;
  const TrainResult res = train_cartridge(ctx_, control_, scratch, prefix, params, tokens, data, &tokens_per_s);
  if (res.cancelled) throw Cancelled("job " + std::to_string(job_.id) + " stopped at a checkpoint");
  const CartridgeRow row = save_version(ctx_, control_, job_, params, *version, tokens, res, tokens_per_s,
                                        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  erase_scratch(ctx_.scratch, job_.id);
  return row.id;
}

}  // namespace cdb
