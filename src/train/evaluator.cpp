#include "train/evaluator.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "common/error.h"
#include "common/hash.h"
#include "engine/tokenizer/chat_format.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/transformer.h"
#include "storage/artifact_store.h"
#include "train/continuation_sampler.h"
#include "train/seed_prompts.h"
#include "train/synthetic_dataset.h"

namespace cdb {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Log-softmax of the logits after each token of `tokens`, read after `ctx`.
at::Tensor sequence_logprobs(Transformer& model, const Cartridge& ctx, const std::vector<int32_t>& tokens) {
  at::Tensor t = at::empty({1, static_cast<int64_t>(tokens.size())}, at::kLong);
  for (size_t i = 0; i < tokens.size(); ++i) t[0][static_cast<int64_t>(i)] = tokens[i];
  KVCache cache = model.new_cache(1, t.size(1));
  at::Tensor logits = model.forward(t.to(model.device()), cache, ctx.empty() ? nullptr : &ctx);
  return at::log_softmax(logits[0].to(at::kCPU, at::kFloat), -1);  // [T, V]
}

std::string key_hash(const std::string& s) { return hex64(xxh3_64(s)); }

std::string trim_left(const std::string& s) {
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t')) ++i;
  return s.substr(i);
}

// The teacher's context for a chat model: the corpus (its first `m` tokens)
// in the same system prompt that self-study put each chunk in.
std::vector<int32_t> chat_icl_context(const Tokenizer& tokenizer, ChatFormat format, const std::string& description,
                                      const std::vector<int32_t>& corpus, size_t m) {
  const std::vector<int32_t> part(corpus.begin(), corpus.begin() + static_cast<std::ptrdiff_t>(m));
  return tokenizer.encode(render_chat(format, {{"system", chat_system_prompt(description, tokenizer.decode(part))}}, false),
                          false);
}

std::string synthesis_key(const std::vector<int32_t>& corpus, const SynthesisOptions& o) {
  std::string s(reinterpret_cast<const char*>(corpus.data()), corpus.size() * sizeof(int32_t));
  char buf[512];
  // v2: data synthesized on the engine (ids as generated, teacher from the
  // generating pass); batch_size no longer changes the data.
  std::snprintf(buf, sizeof buf, "v2|%lld|%lld|%lld|%lld|%d|%.9g|%lld|%.9g|%lld|%lld|%llu|%.9g|%d|",
                static_cast<long long>(o.conversations), static_cast<long long>(o.conversations_per_chunk),
                static_cast<long long>(o.min_chunk_tokens), static_cast<long long>(o.max_chunk_tokens),
                static_cast<int>(o.format), o.a_temperature, static_cast<long long>(o.a_max_tokens), o.b_temperature,
                static_cast<long long>(o.b_max_tokens), static_cast<long long>(o.top_k),
                static_cast<unsigned long long>(o.seed), o.opener_from_chunk, o.opener_max_words);
  return key_hash(s + buf + o.corpus_description);
}

// A chat model's user turn for `text`, after the Cartridge (whose first
// token is the BOS, so the turn drops its own).
std::vector<int32_t> user_turn(const Tokenizer& tokenizer, ChatFormat format, const std::string& text) {
  auto t = tokenizer.encode(render_chat(format, {{"user", text}}, true), false);
  if (!t.empty() && t.front() == tokenizer.bos_id()) t.erase(t.begin());
  return t;
}

// evaluate, step 2: the ICL teacher's context, as much of the corpus as
// fits in `room` tokens (a chat model's template kept whole), and the
// context of the whole corpus.
struct IclContext {
  std::vector<int32_t> tokens, full;
  bool whole_corpus = true;
};

IclContext teacher_context(const Tokenizer& tokenizer, ChatFormat format, const std::string& description,
                           const std::vector<int32_t>& corpus, const std::vector<int32_t>& with_bos, int64_t room) {
  IclContext c;
  if (format == ChatFormat::Plain) {
    const int64_t n = std::min<int64_t>(static_cast<int64_t>(with_bos.size()), room);
    if (n < 1) throw InvalidArgument("evaluate: the probes do not fit the model's window");
    c.tokens.assign(with_bos.begin(), with_bos.begin() + n);
    c.full = with_bos;
    c.whole_corpus = n == static_cast<int64_t>(with_bos.size());
    return c;
  }
  c.full = chat_icl_context(tokenizer, format, description, corpus, corpus.size());
  c.tokens = c.full;
  // Too long: as much of the corpus as fits, the template kept whole.
  size_t m = corpus.size();
  while (static_cast<int64_t>(c.tokens.size()) > room && m > 0) {
    const int64_t over = static_cast<int64_t>(c.tokens.size()) - room;
    m = m > static_cast<size_t>(over) + 8 ? m - static_cast<size_t>(over) - 8 : 0;
    c.tokens = chat_icl_context(tokenizer, format, description, corpus, m);
  }
  if (static_cast<int64_t>(c.tokens.size()) > room)
    throw InvalidArgument("evaluate: the probes do not fit the model's window");
  c.whole_corpus = m == corpus.size();
  return c;
}

// evaluate, step 3: held-out continuations, generic openers training never
// saw (chat: as the user turn), continued by the ICL teacher (sampled,
// seeded). `room`: the window left after the teacher's context.
std::vector<std::vector<int32_t>> heldout_continuations(Transformer& model, const Tokenizer& tokenizer,
                                                        const EvalOptions& o, const Cartridge& icl, int64_t room) {
  const ChatFormat format = o.synthesis.format;
  const bool chat = format != ChatFormat::Plain;
  std::vector<std::vector<int32_t>> ctx;
  std::vector<int64_t> mx;
  std::vector<uint64_t> rows;
  for (size_t i = 0; i < heldout_openers().size(); ++i) {
    ctx.push_back(chat ? user_turn(tokenizer, format, heldout_openers()[i])
                       : tokenizer.encode(heldout_openers()[i], false));
    mx.push_back(std::min<int64_t>(o.heldout_tokens, room - static_cast<int64_t>(ctx.back().size())));
    rows.push_back(i);
  }
  SamplingSpec spec{o.heldout_temperature, chat ? chat_stop_ids(format, tokenizer) : std::vector<int32_t>{},
                    o.seed ^ 0x5eedULL};
  auto cont = sample_continuations(model, ctx, mx, rows, spec, &icl);
  std::vector<std::vector<int32_t>> heldout;
  for (size_t i = 0; i < ctx.size(); ++i) {
    heldout.push_back(ctx[i]);
    heldout.back().insert(heldout.back().end(), cont[i].begin(), cont[i].end());
  }
  return heldout;
}

}  // namespace

const char* eval_mode_name(EvalMode m) {
  switch (m) {
    case EvalMode::SelfStudy: return "selfstudy";
    case EvalMode::Ntp: return "ntp";
    case EvalMode::Truncation: return "truncation";
    case EvalMode::Icl: return "icl";
    case EvalMode::None: return "none";
  }
  return "?";
}

std::vector<EvalMode> parse_eval_modes(const std::string& spec) {
  const std::vector<EvalMode> all = {EvalMode::SelfStudy, EvalMode::Ntp, EvalMode::Truncation, EvalMode::Icl,
                                     EvalMode::None};
  std::vector<EvalMode> out;
  size_t pos = 0;
  while (pos <= spec.size()) {
    size_t end = spec.find(',', pos);
    if (end == std::string::npos) end = spec.size();
    std::string name = spec.substr(pos, end - pos);
    pos = end + 1;
    if (name == "all") return all;
    bool found = false;
    for (EvalMode m : all)
      if (name == eval_mode_name(m)) {
        if (std::find(out.begin(), out.end(), m) == out.end()) out.push_back(m);
        found = true;
      }
    if (!found)
      throw InvalidArgument("unknown eval mode '" + name + "'; use selfstudy, ntp, truncation, icl, none or all");
    if (end == spec.size()) break;
  }
  return out;
}

const ModeReport* EvalReport::find(EvalMode m) const {
  for (const auto& r : modes)
    if (r.mode == m) return &r;
  return nullptr;
}

std::string EvalReport::to_json() const {
  auto num = [](double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); };
  nlohmann::json j;
  j["corpus_tokens"] = corpus_tokens;
  j["icl_tokens"] = icl_tokens;
  j["icl_whole_corpus"] = icl_whole_corpus;
  j["full_kv_bytes"] = full_kv_bytes;
  j["probe_tokens"] = probe_tokens;
  j["heldout_tokens"] = heldout_tokens;
  j["synthesis_wall_s"] = synthesis_wall_s;
  j["synthesized_tokens"] = synthesized_tokens;
  nlohmann::json ms = nlohmann::json::object();
  for (const auto& r : modes) {
    nlohmann::json m;
    m["cartridge_tokens"] = r.cartridge_tokens;
    m["cartridge_bytes"] = r.cartridge_bytes;
    m["memory_ratio_vs_full_kv"] = r.cartridge_bytes ? num(static_cast<double>(full_kv_bytes) / r.cartridge_bytes) : nlohmann::json(nullptr);
    m["ll_per_token"] = num(r.ll_per_token);
    m["gain_recovered"] = num(r.gain_recovered);
    m["mc_accuracy"] = r.mc_accuracy < 0 ? nlohmann::json(nullptr) : nlohmann::json(r.mc_accuracy);
    m["heldout_kl"] = num(r.heldout_kl);
    m["general_ll"] = num(r.general_ll);
    m["train_wall_s"] = r.train_wall_s;
    if (!r.losses.empty()) {
      m["loss_first"] = r.losses.front();
      m["loss_last"] = r.losses.back();
      m["steps"] = r.losses.size();
    }
    if (!r.curve.empty()) {
      nlohmann::json pts = nlohmann::json::array();
      for (const auto& pt : r.curve)
        pts.push_back({{"step", pt.step}, {"ll_per_token", num(pt.ll_per_token)},
                       {"gain_recovered", num(pt.gain_recovered)}, {"heldout_kl", num(pt.heldout_kl)}});
      m["curve"] = pts;
    }
    ms[eval_mode_name(r.mode)] = m;
  }
  j["modes"] = ms;
  return j.dump();
}

void tokenize_probe(const Tokenizer& tokenizer, const std::string& prompt, const std::string& continuation,
                    std::vector<int32_t>* query, std::vector<int32_t>* cont) {
  auto head = tokenizer.encode(prompt, false);
  auto full = tokenizer.encode(prompt + continuation, false);
  size_t n = 0;
  while (n < head.size() && n < full.size() && head[n] == full[n]) ++n;
  if (n == full.size() && n > 0) --n;  // keep at least one continuation token
  query->assign(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
  cont->assign(full.begin() + static_cast<std::ptrdiff_t>(n), full.end());
}

// The probes, tokenized once (evaluate's step 1).
TokenizedProbes tokenize_probes(const Tokenizer& tokenizer, ChatFormat format, const std::vector<Probe>& probes) {
  const bool chat = format != ChatFormat::Plain;
  TokenizedProbes out;
  for (const auto& pr : probes) {
    TokenizedProbe t;
    t.answer = pr.answer;
    std::vector<int32_t> c;
    if (chat) {
      t.query = user_turn(tokenizer, format, pr.prompt);
      c = tokenizer.encode(trim_left(pr.continuation), false);
    } else {
      tokenize_probe(tokenizer, pr.prompt, pr.continuation, &t.query, &c);
    }
    if (c.empty()) throw InvalidArgument("evaluate: the probe '" + pr.prompt + "' has an empty continuation");
    t.conts.push_back(c);
    out.longest = std::max<int64_t>(out.longest, static_cast<int64_t>(t.query.size() + c.size()));
    for (const auto& ch : pr.choices) {
      if (chat) {
        c = tokenizer.encode(trim_left(ch), false);
      } else {
        std::vector<int32_t> q;
        tokenize_probe(tokenizer, pr.prompt, ch, &q, &c);
        if (q != t.query)
          c.insert(c.begin(), q.begin() + static_cast<std::ptrdiff_t>(std::min(q.size(), t.query.size())), q.end());
      }
      t.conts.push_back(c);
      out.longest = std::max<int64_t>(out.longest, static_cast<int64_t>(t.query.size() + c.size()));
    }
    out.continuation_tokens += static_cast<int64_t>(t.conts[0].size());
    out.probes.push_back(std::move(t));
  }
  return out;
}

ProbeScores score_probes(Transformer& model, const Cartridge& context, const TokenizedProbes& probes) {
  double lp = 0;
  int64_t n = 0, mc = 0, right = 0;
  for (const auto& t : probes.probes) {
    const auto s = score_continuation(model, context, t.query, t.conts[0]);
    lp += s.logprob;
    n += s.tokens;
    if (t.conts.size() < 2) continue;
    // Multiple choice: the choice with the best mean log-prob per token.
    int best = -1;
    double best_lp = -std::numeric_limits<double>::infinity();
    for (size_t j = 1; j < t.conts.size(); ++j) {
      const auto sj = score_continuation(model, context, t.query, t.conts[j]);
      const double norm = sj.logprob / static_cast<double>(std::max<int64_t>(sj.tokens, 1));
      if (norm > best_lp) best_lp = norm, best = static_cast<int>(j - 1);
    }
    ++mc;
    right += best == t.answer;
  }
  ProbeScores out;
  out.ll_per_token = lp / static_cast<double>(std::max<int64_t>(n, 1));
  out.mc_accuracy = mc ? static_cast<double>(right) / static_cast<double>(mc) : -1;
  return out;
}

SequenceScore score_continuation(Transformer& model, const Cartridge& context, const std::vector<int32_t>& query,
                                 const std::vector<int32_t>& continuation) {
  if (query.empty()) throw InvalidArgument("score_continuation: the query is empty");
  std::vector<int32_t> all = query;
  all.insert(all.end(), continuation.begin(), continuation.end());
  if (context.tokens() + static_cast<int64_t>(all.size()) > model.config().max_seq_len)
    throw InvalidArgument("score_continuation: context + probe exceed the model's window");
  at::InferenceMode guard;
  at::Tensor lp = sequence_logprobs(model, context, all);
  SequenceScore s;
  for (size_t i = 0; i < continuation.size(); ++i)
    s.logprob += lp[static_cast<int64_t>(query.size() + i - 1)][continuation[i]].item<double>();
  s.tokens = static_cast<int64_t>(continuation.size());
  return s;
}

double mean_kl(Transformer& model, const Cartridge& teacher, const Cartridge& student,
               const std::vector<std::vector<int32_t>>& sequences) {
  at::InferenceMode guard;
  double total = 0;
  int64_t n = 0;
  for (const auto& seq : sequences) {
    if (seq.empty()) continue;
    at::Tensor t = sequence_logprobs(model, teacher, seq), s = sequence_logprobs(model, student, seq);
    total += (t.exp() * (t - s)).sum().item<double>();
    n += static_cast<int64_t>(seq.size());
  }
  return n ? total / static_cast<double>(n) : kNaN;
}

EvalReport evaluate(Transformer& model, const Tokenizer& tokenizer, const std::string& corpus_text,
                    const std::vector<Probe>& probes, const EvalOptions& o) {
  if (probes.empty()) throw InvalidArgument("evaluate: no probes");
  const int64_t window = model.config().max_seq_len;
  const int64_t p = o.cartridge_tokens;
  const int32_t bos = tokenizer.bos_id();
  EvalReport rep;
  std::vector<int32_t> corpus = tokenizer.encode(corpus_text, false);
  if (corpus.empty()) throw InvalidArgument("evaluate: the corpus is empty");
  std::vector<int32_t> with_bos;
  if (bos >= 0) with_bos.push_back(bos);
  with_bos.insert(with_bos.end(), corpus.begin(), corpus.end());
  rep.corpus_tokens = static_cast<int64_t>(corpus.size());
  // Chat models are scored in their template, as self-study trained them:
  // the corpus in the teacher's system prompt, a probe's prompt as the user
  // turn after the Cartridge, its continuation as the start of the answer.
  const ChatFormat format = o.synthesis.format;
  const bool chat = format != ChatFormat::Plain;

  // 1. The probes; 2. the ICL context, leaving room for the longest probe
  // and a held-out continuation.
  const TokenizedProbes tokenized = tokenize_probes(tokenizer, format, probes);
  const int64_t longest = tokenized.longest;
  rep.probe_tokens = tokenized.continuation_tokens;
  const int64_t heldout_room = static_cast<int64_t>((chat ? 32 : 8) + o.heldout_tokens);
  const IclContext context = teacher_context(tokenizer, format, o.synthesis.corpus_description, corpus, with_bos,
                                             window - std::max(longest, heldout_room));
  const std::vector<int32_t>& icl_context = context.tokens;
  const std::vector<int32_t>& full_context = context.full;
  rep.icl_tokens = static_cast<int64_t>(icl_context.size());
  rep.icl_whole_corpus = context.whole_corpus;
  if (p < 2 || p > static_cast<int64_t>(with_bos.size()) || p + longest > window)
    throw InvalidArgument("evaluate: --tokens " + std::to_string(p) + " must be >= 2, at most the corpus length (" +
                          std::to_string(with_bos.size()) + " with BOS) and leave room for the probes");

  Cartridge icl, none;
  {
    at::InferenceMode guard;
    icl = model.prefill_cartridge(icl_context);
    none = model.prefill_cartridge(std::vector<int32_t>(with_bos.begin(), with_bos.begin() + 1));
  }
  {
    const auto& cfg = model.config();
    rep.full_kv_bytes = 2 * cfg.n_layers * cfg.n_kv_heads * cfg.head_dim * static_cast<int64_t>(full_context.size()) *
                        static_cast<int64_t>(at::elementSize(model.dtype()));
  }

  // 3. Held-out continuations of the ICL teacher.
  const std::vector<std::vector<int32_t>> heldout =
      heldout_continuations(model, tokenizer, o, icl, window - rep.icl_tokens);
  for (const auto& h : heldout) rep.heldout_tokens += static_cast<int64_t>(h.size());
  std::vector<int32_t> general;
  if (!o.general_text.empty()) {
    general = tokenizer.encode(o.general_text, false);
    int64_t g = std::min<int64_t>({static_cast<int64_t>(general.size()), o.general_max_tokens, window - p});
    general.resize(static_cast<size_t>(std::max<int64_t>(g, 0)));
  }

  // 4. Each mode's Cartridge, scored on the probes, the held-out
  // continuations and the general text.
  auto score = [&](ModeReport& r, const Cartridge& c) {
    r.cartridge_tokens = c.tokens();
    r.cartridge_bytes = c.bytes();
    const ProbeScores ps = score_probes(model, c, tokenized);
    r.ll_per_token = ps.ll_per_token;
    r.mc_accuracy = ps.mc_accuracy;
    r.heldout_kl = mean_kl(model, icl, c, heldout);
    r.general_ll = kNaN;
    if (!general.empty() && c.tokens() + static_cast<int64_t>(general.size()) <= window) {
      std::vector<int32_t> q(general.begin(), general.begin() + 1), rest(general.begin() + 1, general.end());
      auto s = score_continuation(model, c, q, rest);
      r.general_ll = s.logprob / static_cast<double>(std::max<int64_t>(s.tokens, 1));
    }
  };

  auto train_mode = [&](ModeReport& r, const SyntheticDataset& data, const std::string& run) {
    Cartridge init = initial_cartridge(model, with_bos, p);
    CartridgeTrainer trainer(model, data, init, o.train);
    if (o.store) trainer.use_checkpoints(*o.store, o.store_prefix + run);
    auto t0 = std::chrono::steady_clock::now();
    double curve_s = 0;
    TrainResult res = trainer.train([&](const TrainProgress& tp) {
      if (tp.step < o.train.steps && std::find(o.curve_steps.begin(), o.curve_steps.end(), tp.step) != o.curve_steps.end()) {
        auto c0 = std::chrono::steady_clock::now();
        ModeReport at_step;
        score(at_step, trainer.current());
        r.curve.push_back({tp.step, at_step.ll_per_token, 0, at_step.heldout_kl});
        curve_s += seconds_since(c0);
      }
      return o.progress ? o.progress(tp) : true;
    });
    if (res.cancelled) throw Cancelled("evaluation cancelled while training the " + std::string(eval_mode_name(r.mode)) + " Cartridge");
    r.train_wall_s = seconds_since(t0) - curve_s;
    r.losses = res.losses;
    return res.cartridge;
  };

  for (EvalMode m : o.modes) {
    ModeReport r;
    r.mode = m;
    Cartridge c;
    switch (m) {
      case EvalMode::None: c = none; break;
      case EvalMode::Icl: c = icl; break;
      case EvalMode::Truncation: c = initial_cartridge(model, with_bos, p); break;
      case EvalMode::SelfStudy: {
        SynthesisOptions so = o.synthesis;
        const std::string key = "selfstudy/" + synthesis_key(corpus, so) + "/";
        SyntheticDataset data;
        auto t0 = std::chrono::steady_clock::now();
        if (o.store && has_dataset(*o.store, o.store_prefix + key)) {
          data = load_dataset(*o.store, o.store_prefix + key);
        } else {
          data = synthesize(model, tokenizer, corpus, so);
          if (o.store) save_dataset(*o.store, o.store_prefix + key, data);
        }
        rep.synthesis_wall_s = seconds_since(t0);
        rep.synthesized_tokens = data.total_tokens();
        c = train_mode(r, data, key + "p" + std::to_string(p) + "/");
        break;
      }
      case EvalMode::Ntp: {
        SyntheticDataset data = corpus_ntp_dataset(corpus, o.ntp_examples, o.ntp_window, o.seed);
        c = train_mode(r, data, "ntp/p" + std::to_string(p) + "/");
        break;
      }
    }
    score(r, c);
    if (!r.losses.empty()) r.curve.push_back({static_cast<int64_t>(r.losses.size()), r.ll_per_token, 0, r.heldout_kl});
    rep.modes.push_back(std::move(r));
  }
  // Gain recovered needs both ends; compute them if the caller did not ask.
  auto ll_of = [&](EvalMode m, const Cartridge& c) {
    if (const ModeReport* r = rep.find(m)) return r->ll_per_token;
    ModeReport tmp;
    score(tmp, c);
    return tmp.ll_per_token;
  };
  const double ll_none = ll_of(EvalMode::None, none), ll_icl = ll_of(EvalMode::Icl, icl);
  auto gain = [&](double ll) { return std::abs(ll_icl - ll_none) > 1e-12 ? (ll - ll_none) / (ll_icl - ll_none) : kNaN; };
  for (auto& r : rep.modes) {
    r.gain_recovered = gain(r.ll_per_token);
    for (auto& pt : r.curve) pt.gain_recovered = gain(pt.ll_per_token);
  }
  return rep;
}

}  // namespace cdb
