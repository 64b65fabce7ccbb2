// Chooses, for each corpus of an ASK, what the model reads for it:
//
//  * the newest ready Cartridge trained with the loaded model (same model
//    fingerprint; a Cartridge of any other model is never used, whatever
//    its version);
//  * with none, in mode 'auto': the corpus's text in the prompt (ICL) when
//    everything fits the context window with room for one answer token;
//    otherwise an error naming the corpus's training job and its progress;
//  * mode 'icl' puts every corpus's text in the prompt (for comparison);
//    mode 'cartridge' requires a Cartridge for every corpus.
//
// Prompts. Base models (ChatFormat Plain), as self-study trained them: the
// model reads [BOS] + (description + "\n") + corpus tokens for an ICL
// corpus, and the question is encoded on its own as a continuation. With a
// Cartridge, its first token (the sink, BOS's KV) stands for the BOS, so the
// prompt has none. Chat models: render_chat with the question as the user
// turn and, for ICL, the corpora in a system message; a BOS the template
// writes is dropped after a Cartridge for the same reason.
#pragma once

#include <string>
#include <vector>

#include "engine/tokenizer/chat_format.h"
#include "planner/ask_plan.h"

namespace cdb {

class JobTable;
class ResidencyManager;
class Store;
class Tokenizer;

class AskPlanner {
 public:
  AskPlanner(Store& store, const ResidencyManager& residency, const Tokenizer& tokenizer, ChatFormat format,
             int64_t window, std::string model_fingerprint)
      : store_(store), residency_(residency), tokenizer_(tokenizer), format_(format), window_(window),
        fingerprint_(std::move(model_fingerprint)) {}

  // NotFound for an unknown corpus or (mode 'cartridge') a missing
  // Cartridge; ResourceExhausted when ICL does not fit and there is no
  // Cartridge. Both name the corpus's training job and its progress.
  AskPlan plan(const std::string& question, const std::vector<std::string>& corpora, const AskSettings& settings) const;

  // The newest ready Cartridge of a corpus for the loaded model.
  std::optional<CartridgeRow> newest_cartridge(int64_t corpus_id) const;
  // The text ICL puts in the prompt: the documents in insertion order,
  // joined by blank lines (the same text training reads).
  std::string corpus_text(int64_t corpus_id) const;
  // "job 7 is running: step 12/60 (35%), loss 1.23" or "no training job:
  // run TRAIN CARTRIDGE FOR c".
  std::string training_status(const CorpusRow& corpus) const;

 private:
  std::vector<int32_t> icl_tokens(const CorpusPlan& part) const;

  Store& store_;
  const ResidencyManager& residency_;
  const Tokenizer& tokenizer_;
  ChatFormat format_;
  int64_t window_;
  std::string fingerprint_;
};

}  // namespace cdb
