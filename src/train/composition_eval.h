// Composition, measured: the paper's claim that Cartridges trained apart
// compose by concatenation without retraining (arXiv 2506.06266, section
// 5.3). The probes of corpus A are scored with A's Cartridge composed with
// B's, in both orders, against A's Cartridge alone, ICL of A, a single
// Cartridge trained by self-study on A and B together (the "retrain"
// baseline), and ICL of A and B together where both fit the window.
//
// Base models only (the probes are plain text after the Cartridge); a chat
// model's template scoring lives in evaluate().
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "train/evaluator.h"

namespace cdb {

struct CompositionRow {
  std::string name;           // "none", "icl_a", "a", "a+b", "b+a", "retrain_ab", "icl_ab"
  int64_t cartridge_tokens = 0;
  double ll_per_token = 0;    // mean over A's probes' continuation tokens
  double gain_recovered = 0;  // (LL - LL_none) / (LL_icl_a - LL_none)
  double mc_accuracy = -1;    // -1: no multiple-choice probes
};

struct CompositionReport {
  std::vector<CompositionRow> rows;
  int64_t corpus_a_tokens = 0, corpus_b_tokens = 0;
  bool icl_ab_fits = false;   // A and B together fit the window with the longest probe
  bool icl_a_whole = true;    // ICL of A saw all of A
  double train_wall_s = 0;    // the three self-study runs, synthesis included
  const CompositionRow* find(const std::string& name) const;
  std::string to_json() const;  // one line
};

// Trains A's, B's and the joint Cartridge by self-study with
// options.synthesis / options.train at options.cartridge_tokens each (the
// retrain baseline gets as many tokens as A and B together, the memory the
// composition uses), then scores `probes_a` under every row.
CompositionReport evaluate_composition(Transformer& model, const Tokenizer& tokenizer, const std::string& corpus_a,
                                       const std::string& corpus_b, const std::vector<Probe>& probes_a,
                                       const EvalOptions& options);

}  // namespace cdb
