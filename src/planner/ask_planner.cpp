#include "planner/ask_planner.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/error.h"
#include "engine/tokenizer/tokenizer.h"
#include "jobs/job_table.h"
#include "residency/residency_manager.h"
#include "storage/store.h"

namespace cdb {

std::optional<CartridgeRow> AskPlanner::newest_cartridge(int64_t corpus_id) const {
  std::optional<CartridgeRow> best;
  for (auto& c : store_.catalog().list_cartridges(corpus_id)) {
    if (c.status != RowStatus::Ready || c.model_fingerprint != fingerprint_) continue;
    if (!best || c.id > best->id) best = std::move(c);
  }
  return best;
}

std::string AskPlanner::corpus_text(int64_t corpus_id) const {
  std::string text;
  for (const auto& d : store_.catalog().list_documents(corpus_id)) {
    if (!text.empty()) text += "\n\n";
    text += store_.read_document(d);
  }
  return text;
}

std::string AskPlanner::training_status(const CorpusRow& corpus) const {
  std::optional<JobDetails> last;
  for (auto& d : JobTable(store_.catalog()).list())
    if (d.row.corpus_id == corpus.id) last = std::move(d);
  const std::string train = "TRAIN CARTRIDGE FOR " + corpus.name;
  if (!last) return "no training job exists for it; run " + train;
  const JobRow& r = last->row;
  std::string s = "its training job " + std::to_string(r.id) + " is " + std::string(to_string(r.state));
  char b[64];
  std::snprintf(b, sizeof b, " (%.0f%%", 100.0 * r.progress);
  if (!is_finished(r.state)) {
    s += b;
    if (last->total_steps > 0) s += ", step " + std::to_string(last->step) + "/" + std::to_string(last->total_steps);
    if (last->loss) {
      std::snprintf(b, sizeof b, ", loss %.4f", *last->loss);
      s += b;
    }
    s += ")";
    if (r.state == JobState::Queued && last->not_before_ms > unix_ms_now()) s += ", waiting for the corpus to settle";
    s += "; WAIT JOB " + std::to_string(r.id) + " blocks until it is done";
  } else if (r.state == JobState::Failed) {
    s += ": " + r.error.value_or("unknown error") + "; run " + train + " again";
  } else if (r.state == JobState::Cancelled) {
    s += "; run " + train + " again";
  } else {
    s += ", but its Cartridge is gone or belongs to another model; run " + train;
  }
  return s;
}

std::vector<int32_t> AskPlanner::icl_tokens(const CorpusPlan& part) const {
  std::vector<int32_t> t;
  if (!part.corpus.description.empty()) t = tokenizer_.encode(part.corpus.description + "\n", false);
  auto body = tokenizer_.encode(part.icl_text, false);
  t.insert(t.end(), body.begin(), body.end());
  return t;
}

AskPlan AskPlanner::plan(const std::string& question, const std::vector<std::string>& names,
                         const AskSettings& settings) const {
  Catalog& cat = store_.catalog();
  if (names.empty()) throw InvalidArgument("ASK needs at least one corpus after USING");
  if (question.empty()) throw InvalidArgument("ASK: the question is empty");
  std::vector<CorpusRow> corpora;
  for (const auto& n : names) {
    auto c = cat.find_corpus(n);
    if (!c) throw NotFound("corpus '" + n + "' does not exist; SHOW CORPORA lists the corpora");
    corpora.push_back(*c);
  }
  std::sort(corpora.begin(), corpora.end(), [](const CorpusRow& a, const CorpusRow& b) { return a.id < b.id; });

  AskPlan plan;
  plan.question = question;
  plan.settings = settings;
  plan.window = window_;
  std::vector<CorpusPlan> carts, icl;
  for (const auto& c : corpora) {
    CorpusPlan p;
    p.corpus = c;
    auto v = cat.latest_version(c.id);
    p.latest_version = v ? v->version : 0;
    auto newest = settings.mode == AskMode::Icl ? std::nullopt : newest_cartridge(c.id);
    if (newest) {
      p.source = CorpusSource::Cartridge;
      p.cartridge = newest;
      p.tokens = newest->tokens;
      p.bytes = newest->bytes;
      p.location = std::string(tier_name(residency_.where(newest->id)));
      p.expected_load_s = residency_.expected_load_seconds(*newest);
      if (newest->corpus_version < p.latest_version)
        p.note = "trained on version " + std::to_string(newest->corpus_version) + "; the corpus is at version " +
                 std::to_string(p.latest_version);
      carts.push_back(std::move(p));
      continue;
    }
    if (settings.mode == AskMode::Cartridge)
      throw NotFound("corpus '" + c.name + "' has no ready Cartridge for the loaded model (mode = 'cartridge'); " +
                     training_status(c));
    if (p.latest_version == 0)
      throw InvalidArgument("corpus '" + c.name + "' has no documents and no Cartridge; ADD DOCUMENT or LOAD FILE first");
    p.source = CorpusSource::Icl;
    p.note = settings.mode == AskMode::Icl ? "mode = 'icl'" : "no ready Cartridge for this model; " + training_status(c);
    p.icl_text = corpus_text(c.id);
    p.bytes = static_cast<int64_t>(p.icl_text.size());
    p.location = "prompt";
    icl.push_back(std::move(p));
  }

  // Positions: the composed Cartridges first, then the prompt.
  int64_t pos = 0;
  for (auto& p : carts) {
    p.position = pos;
    pos += p.tokens;
    plan.cartridges.push_back(*p.cartridge);
  }
  plan.prefix_tokens = pos;
  const bool has_prefix = !carts.empty();
  const int32_t bos = tokenizer_.bos_id();
  std::vector<int32_t>& prompt = plan.prompt;
  if (format_ == ChatFormat::Plain) {
    if (!has_prefix && bos >= 0) prompt.push_back(bos);
    for (auto& p : icl) {
      auto t = icl_tokens(p);
      p.position = pos + static_cast<int64_t>(prompt.size());
      p.tokens = static_cast<int64_t>(t.size());
      prompt.insert(prompt.end(), t.begin(), t.end());
    }
    plan.question_position = pos + static_cast<int64_t>(prompt.size());
    auto q = tokenizer_.encode(question, false);
    prompt.insert(prompt.end(), q.begin(), q.end());
  } else {
    std::vector<ChatMessage> msgs;
    if (!icl.empty()) {
      std::string sys = "Answer from the following documents.";
      for (auto& p : icl) {
        sys += "\n\n# " + p.corpus.name + (p.corpus.description.empty() ? "" : ": " + p.corpus.description) + "\n\n";
        sys += p.icl_text;
        p.tokens = static_cast<int64_t>(tokenizer_.encode(p.icl_text, false).size());
      }
      msgs.push_back({"system", sys});
    }
    auto head = tokenizer_.encode(render_chat(format_, msgs, false), false);
    msgs.push_back({"user", question});
    prompt = tokenizer_.encode(render_chat(format_, msgs, true), false);
    size_t dropped = 0;
    if (has_prefix && !prompt.empty() && bos >= 0 && prompt.front() == bos) {
      prompt.erase(prompt.begin());
      dropped = 1;
    }
    // ICL corpora share the system message; each starts where it begins.
    for (auto& p : icl) p.position = pos + (head.empty() ? 0 : 1);
    plan.question_position = pos + static_cast<int64_t>(head.size() - std::min(dropped, head.size()));
  }
  for (auto& p : carts) plan.parts.push_back(std::move(p));
  for (auto& p : icl) plan.parts.push_back(std::move(p));

  const int64_t used = plan.prefix_tokens + static_cast<int64_t>(prompt.size());
  if (used + 1 > window_) {
    std::string icl_names, statuses;
    int64_t icl_tok = 0;
    for (const auto& p : plan.parts) {
      if (p.source != CorpusSource::Icl) continue;
      icl_names += (icl_names.empty() ? "'" : ", '") + p.corpus.name + "'";
      icl_tok += p.tokens;
      if (settings.mode == AskMode::Auto) statuses += "; corpus '" + p.corpus.name + "': " + training_status(p.corpus);
    }
    const std::string total = std::to_string(used) + " tokens do not fit the model's " + std::to_string(window_) +
                              "-token context window";
    if (icl_names.empty())
      throw InvalidArgument("the question is too long: with the Cartridges (" + std::to_string(plan.prefix_tokens) +
                            " tokens) its " + total);
    if (settings.mode == AskMode::Icl)
      throw ResourceExhausted("mode = 'icl': the text of " + icl_names + " (" + std::to_string(icl_tok) +
                              " tokens) with the question: " + total + "; ask with Cartridges instead");
    throw ResourceExhausted("no Cartridge for " + icl_names + ", and in-context their text (" + std::to_string(icl_tok) +
                            " tokens) with the question: " + total + statuses);
  }
  plan.max_tokens = std::min(settings.max_tokens, window_ - used);
  return plan;
}

}  // namespace cdb
