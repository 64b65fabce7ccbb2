#include "train/composition_eval.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <limits>

#include "common/error.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/transformer.h"

namespace cdb {
namespace {

std::vector<int32_t> with_bos(const Tokenizer& tokenizer, const std::vector<int32_t>& tokens) {
  std::vector<int32_t> out;
  if (tokenizer.bos_id() >= 0) out.push_back(tokenizer.bos_id());
  out.insert(out.end(), tokens.begin(), tokens.end());
  return out;
}

CompositionRow score(Transformer& model, const std::string& name, const Cartridge& c, const TokenizedProbes& probes) {
  const ProbeScores ps = score_probes(model, c, probes);
  CompositionRow r;
  r.name = name;
  r.cartridge_tokens = c.tokens();
  r.ll_per_token = ps.ll_per_token;
  r.mc_accuracy = ps.mc_accuracy;
  return r;
}

Cartridge self_study(Transformer& model, const Tokenizer& tokenizer, const std::vector<int32_t>& corpus, int64_t p,
                     const EvalOptions& o) {
  const SyntheticDataset data = synthesize(model, tokenizer, corpus, o.synthesis);
  const auto bos_corpus = with_bos(tokenizer, corpus);
  CartridgeTrainer trainer(model, data, initial_cartridge(model, bos_corpus, std::min<int64_t>(p, bos_corpus.size())),
                           o.train);
  return trainer.train().cartridge;
}

}  // namespace

const CompositionRow* CompositionReport::find(const std::string& name) const {
  for (const auto& r : rows)
    if (r.name == name) return &r;
  return nullptr;
}

std::string CompositionReport::to_json() const {
  nlohmann::json j;
  j["corpus_a_tokens"] = corpus_a_tokens;
  j["corpus_b_tokens"] = corpus_b_tokens;
  j["icl_ab_fits"] = icl_ab_fits;
  j["icl_a_whole"] = icl_a_whole;
  j["train_wall_s"] = train_wall_s;
  for (const auto& r : rows) {
    auto& m = j["rows"][r.name];
    m["cartridge_tokens"] = r.cartridge_tokens;
    m["ll_per_token"] = r.ll_per_token;
    m["gain_recovered"] = std::isfinite(r.gain_recovered) ? nlohmann::json(r.gain_recovered) : nlohmann::json(nullptr);
    m["mc_accuracy"] = r.mc_accuracy < 0 ? nlohmann::json(nullptr) : nlohmann::json(r.mc_accuracy);
  }
  return j.dump();
}

CompositionReport evaluate_composition(Transformer& model, const Tokenizer& tokenizer, const std::string& corpus_a,
                                       const std::string& corpus_b, const std::vector<Probe>& probes_a,
                                       const EvalOptions& o) {
  if (o.synthesis.format != ChatFormat::Plain)
    throw InvalidArgument("composition evaluation scores plain-text probes: use a base model (this one has a chat "
                          "template)");
  if (probes_a.empty()) throw InvalidArgument("composition evaluation needs probes of corpus A");
  const std::vector<int32_t> a = tokenizer.encode(corpus_a, false), b = tokenizer.encode(corpus_b, false);
  if (a.empty() || b.empty()) throw InvalidArgument("composition evaluation needs two non-empty corpora");
  const int64_t window = model.config().max_seq_len;
  CompositionReport rep;
  rep.corpus_a_tokens = static_cast<int64_t>(a.size());
  rep.corpus_b_tokens = static_cast<int64_t>(b.size());

  const TokenizedProbes probes = tokenize_probes(tokenizer, ChatFormat::Plain, probes_a);
  const int64_t longest = probes.longest;
  const int64_t room = window - longest;

  const int64_t p = o.cartridge_tokens;
  const auto t0 = std::chrono::steady_clock::now();
  const Cartridge ca = self_study(model, tokenizer, a, p, o);
  const Cartridge cb = self_study(model, tokenizer, b, p, o);
  std::vector<int32_t> ab = a;
  ab.insert(ab.end(), b.begin(), b.end());
  // The joint corpus gets the memory the composition uses, and as many
  // conversations as the two separate runs together.
  EvalOptions joint = o;
  joint.synthesis.conversations = 2 * o.synthesis.conversations;
  joint.train.steps = 2 * o.train.steps;
  const Cartridge cab = self_study(model, tokenizer, ab, ca.tokens() + cb.tokens(), joint);
  rep.train_wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  c10::InferenceMode guard;
  const auto bos_a = with_bos(tokenizer, a), bos_ab = with_bos(tokenizer, ab);
  rep.icl_a_whole = static_cast<int64_t>(bos_a.size()) <= room;
  const std::vector<int32_t> icl_a(bos_a.begin(), bos_a.begin() + std::min<int64_t>(bos_a.size(), room));
  const Cartridge none = model.prefill_cartridge(with_bos(tokenizer, {}));
  rep.rows.push_back(score(model, "none", none, probes));
  rep.rows.push_back(score(model, "icl_a", model.prefill_cartridge(icl_a), probes));
  rep.rows.push_back(score(model, "a", ca, probes));
  rep.rows.push_back(score(model, "a+b", compose({&ca, &cb}), probes));
  rep.rows.push_back(score(model, "b+a", compose({&cb, &ca}), probes));
  rep.rows.push_back(score(model, "retrain_ab", cab, probes));
  rep.icl_ab_fits = static_cast<int64_t>(bos_ab.size()) <= room;
  if (rep.icl_ab_fits) rep.rows.push_back(score(model, "icl_ab", model.prefill_cartridge(bos_ab), probes));
  const double ll_none = rep.rows[0].ll_per_token, ll_icl = rep.rows[1].ll_per_token;
  for (auto& r : rep.rows)
    r.gain_recovered = ll_icl - ll_none > 1e-9 ? (r.ll_per_token - ll_none) / (ll_icl - ll_none)
                                               : std::numeric_limits<double>::quiet_NaN();
  return rep;
}

}  // namespace cdb
