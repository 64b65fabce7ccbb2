// Evaluation of a corpus's Cartridges against the baselines, with one tool:
//   selfstudy   the paper's method (synthesize, then distill)
//   ntp         a Cartridge trained by next-token prediction on the corpus
//   truncation  the KV of the corpus's first p tokens, untrained
//   icl         the corpus in context (its first tokens, where it is longer
//               than the window allows)
//   none        no context (BOS only)
// Every mode is a Cartridge before the query (none: BOS, icl: the corpus's
// KV), so one scoring path measures them all. Chat models
// (synthesis.format) are scored in their template: the ICL corpus sits in
// the system prompt self-study used, and each probe's prompt is a user turn
// whose answer begins with the continuation.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/cartridge.h"
#include "train/cartridge_trainer.h"
#include "train/probe.h"
#include "train/synthesizer.h"

namespace cdb {

class ArtifactStore;
class Tokenizer;
class Transformer;

enum class EvalMode { SelfStudy, Ntp, Truncation, Icl, None };
const char* eval_mode_name(EvalMode m);
// "selfstudy", "ntp", "truncation", "icl", "none"; "all" gives all five.
std::vector<EvalMode> parse_eval_modes(const std::string& spec);

struct EvalOptions {
  std::vector<EvalMode> modes = {EvalMode::SelfStudy, EvalMode::Ntp, EvalMode::Truncation, EvalMode::Icl,
                                 EvalMode::None};
  int64_t cartridge_tokens = 32;
  SynthesisOptions synthesis;     // self-study data
  TrainOptions train;             // self-study and ntp training
  int64_t ntp_examples = 64;      // corpus windows for the ntp baseline
  int64_t ntp_window = 128;
  int64_t heldout_tokens = 48;    // length of each held-out teacher continuation
  double heldout_temperature = 1.0;
  std::string general_text;       // unrelated text for "general ability retained"
  int64_t general_max_tokens = 256;
  uint64_t seed = 0;
  // Trained modes are also scored after each of these steps (below
  // train.steps), on the Cartridge as it stands: quality against training
  // steps from one run. Adam's rate is constant and the data order a pure
  // function of (seed, step), so step s of a long run is the end of an
  // s-step run.
  std::vector<int64_t> curve_steps;
  ArtifactStore* store = nullptr; // if set: dataset + checkpoints under store_prefix
  std::string store_prefix = "eval/";
  TrainCallback progress;         // training progress of the trained modes
};

struct ModeReport {
  EvalMode mode = EvalMode::None;
  int64_t cartridge_tokens = 0;
  int64_t cartridge_bytes = 0;
  double ll_per_token = 0;        // mean log-likelihood per continuation token
  double gain_recovered = 0;      // (LL - LL_none) / (LL_icl - LL_none); NaN if undefined
  double mc_accuracy = -1;        // -1: no multiple-choice probes
  double heldout_kl = 0;          // mean KL(ICL teacher || mode) per token
  double general_ll = 0;          // LL per token of the unrelated text; NaN if it does not fit
  double train_wall_s = 0;        // synthesis and curve scoring excluded
  std::vector<double> losses;     // trained modes
  struct CurvePoint {
    int64_t step = 0;
    double ll_per_token = 0, gain_recovered = 0, heldout_kl = 0;
  };
  std::vector<CurvePoint> curve;  // trained modes: at EvalOptions::curve_steps, then the last step
};

struct EvalReport {
  std::vector<ModeReport> modes;
  int64_t corpus_tokens = 0;
  int64_t icl_tokens = 0;         // tokens of the ICL context (BOS, and a chat model's template, included)
  bool icl_whole_corpus = true;
  int64_t full_kv_bytes = 0;      // KV bytes of the whole corpus in context
  int64_t probe_tokens = 0;
  int64_t heldout_tokens = 0;
  double synthesis_wall_s = 0;
  int64_t synthesized_tokens = 0;
  const ModeReport* find(EvalMode m) const;
  std::string to_json() const;    // one line
};

EvalReport evaluate(Transformer& model, const Tokenizer& tokenizer, const std::string& corpus_text,
                    const std::vector<Probe>& probes, const EvalOptions& options);

// Building blocks, reused by the bench and the query engine.

// Log-probabilities of `continuation` after `query`, both after `context`
// (sum, token count).
struct SequenceScore {
  double logprob = 0;
  int64_t tokens = 0;
};
SequenceScore score_continuation(Transformer& model, const Cartridge& context, const std::vector<int32_t>& query,
                                 const std::vector<int32_t>& continuation);

// Probes tokenized once: query, then the continuation and any choices.
// Chat formats put the prompt in a user turn (without its BOS: the
// Cartridge has it) and the continuation at the start of the answer.
struct TokenizedProbe {
  std::vector<int32_t> query;
  std::vector<std::vector<int32_t>> conts;  // [0]: the continuation; choices after
  int answer = -1;                          // index into the choices (conts[1 + answer])
};
struct TokenizedProbes {
  std::vector<TokenizedProbe> probes;
  int64_t longest = 0;              // query and continuation: what ICL must leave room for
  int64_t continuation_tokens = 0;  // of every probe's [0]
};
TokenizedProbes tokenize_probes(const Tokenizer& tokenizer, ChatFormat format, const std::vector<Probe>& probes);

// Mean log-likelihood per continuation token after `context`, and the share
// of multiple-choice probes whose best choice (by mean log-prob per token)
// is the answer (-1: none).
struct ProbeScores {
  double ll_per_token = 0;
  double mc_accuracy = -1;
};
ProbeScores score_probes(Transformer& model, const Cartridge& context, const TokenizedProbes& probes);

// Splits prompt + continuation into query and continuation tokens the way
// the tokenizer reads them together.
void tokenize_probe(const Tokenizer& tokenizer, const std::string& prompt, const std::string& continuation,
                    std::vector<int32_t>* query, std::vector<int32_t>* cont);

// Mean over positions of KL(teacher || student) of the next-token
// distributions along `sequences`, each read after its Cartridge.
double mean_kl(Transformer& model, const Cartridge& teacher, const Cartridge& student,
               const std::vector<std::vector<int32_t>>& sequences);

}  // namespace cdb
