#include "train/synthesizer.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "common/error.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/transformer.h"
#include "train/continuation_sampler.h"
#include "train/seed_prompts.h"
#include "train/seeded_rng.h"

namespace cdb {
namespace {

// Tokens of `full` after the tokens of `head` (the tokenization of a
// rendered conversation after its system part). Chat templates put special
// tokens at the boundary, so the head is a prefix; should a merge cross it,
// the common prefix is used instead.
std::vector<int32_t> suffix_after(const std::vector<int32_t>& full, const std::vector<int32_t>& head) {
  size_t n = 0;
  while (n < head.size() && n < full.size() && full[n] == head[n]) ++n;
  return std::vector<int32_t>(full.begin() + static_cast<std::ptrdiff_t>(n), full.end());
}

struct Pending {
  int64_t index;
  ChunkSpan chunk;
  SeedPrompt seed;
  std::vector<int32_t> context;       // teacher context (chunk in it)
  std::vector<int32_t> conversation;  // what the student reads
};

}  // namespace

std::string chat_system_prompt(const std::string& description, const std::string& chunk_text) {
  std::string s = "The conversation below is about the following excerpt from a larger corpus";
  if (!description.empty()) s += " (" + description + ")";
  s += ".\n\n<excerpt>\n" + chunk_text + "\n</excerpt>";
  return s;
}

void teacher_topk(Transformer& model, const std::vector<std::vector<int32_t>>& contexts,
                  const std::vector<std::vector<int32_t>>& conversations, int64_t k,
                  std::vector<std::vector<int32_t>>* ids, std::vector<std::vector<float>>* logprobs) {
  const int64_t B = static_cast<int64_t>(contexts.size());
  ids->assign(static_cast<size_t>(B), {});
  logprobs->assign(static_cast<size_t>(B), {});
  if (B == 0) return;
  int64_t T = 0;
  for (int64_t b = 0; b < B; ++b)
    T = std::max<int64_t>(T, static_cast<int64_t>(contexts[static_cast<size_t>(b)].size() +
                                                  conversations[static_cast<size_t>(b)].size()));
  if (T > model.config().max_seq_len)
    throw InvalidArgument("teacher_topk: a context + conversation of " + std::to_string(T) +
                          " tokens exceeds the model's window of " + std::to_string(model.config().max_seq_len));
  at::InferenceMode guard;
  at::Tensor tok = at::zeros({B, T}, at::kLong), pad = at::zeros({B}, at::kLong);
  for (int64_t b = 0; b < B; ++b) {
    const auto& c = contexts[static_cast<size_t>(b)];
    const auto& v = conversations[static_cast<size_t>(b)];
    int64_t p = T - static_cast<int64_t>(c.size() + v.size());
    pad[b] = p;
    int64_t j = p;
    for (int32_t x : c) tok[b][j++] = x;
    for (int32_t x : v) tok[b][j++] = x;
  }
  KVCache cache = model.new_cache(B, T);
  cache.set_padding(pad.to(model.device()));
  at::Tensor logits = model.forward(tok.to(model.device()), cache);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t n = static_cast<int64_t>(conversations[static_cast<size_t>(b)].size());
    if (n == 0) continue;
    const int64_t start = T - n;  // logits at conversation token i predict token i+1
    at::Tensor lp = at::log_softmax(logits[b].narrow(0, start, n).to(at::kFloat), -1);
    auto [vals, idx] = lp.topk(k, -1);
    vals = vals.to(at::kCPU).contiguous();
    idx = idx.to(at::kCPU, at::kInt).contiguous();
    (*ids)[static_cast<size_t>(b)].assign(idx.data_ptr<int32_t>(), idx.data_ptr<int32_t>() + n * k);
    (*logprobs)[static_cast<size_t>(b)].assign(vals.data_ptr<float>(), vals.data_ptr<float>() + n * k);
  }
}

SyntheticDataset synthesize(Transformer& model, const Tokenizer& tokenizer, const std::vector<int32_t>& corpus,
                            const SynthesisOptions& o, const SynthesisCallback& callback) {
  if (corpus.empty()) throw InvalidArgument("synthesize: the corpus is empty");
  if (o.conversations < 1 || o.batch_size < 1 || o.top_k < 1)
    throw InvalidArgument("synthesize: conversations, batch_size and top_k must be >= 1");
  const int64_t window = model.config().max_seq_len;
  const int64_t V = model.config().vocab_size;
  const int64_t k = std::min(o.top_k, V);
  const bool chat = o.format != ChatFormat::Plain;
  const int32_t bos = tokenizer.bos_id();

  // Plain-format prefix: BOS + description; chat formats render their own.
  std::vector<int32_t> head;
  if (!chat) {
    if (bos >= 0) head.push_back(bos);
    if (!o.corpus_description.empty()) {
      auto d = tokenizer.encode(o.corpus_description + "\n", false);
      head.insert(head.end(), d.begin(), d.end());
    }
  }
  // Budget: what the conversation may take; the chunk gets the rest. When
  // the speakers' limits do not fit (small windows), the conversation is
  // held to half of the window.
  const int64_t template_slack = chat ? 64 + (o.corpus_description.size() / 2) : 0;
  const int64_t opener_slack = chat ? 0 : 16;
  int64_t conv_budget = (chat ? o.a_max_tokens : opener_slack) + o.b_max_tokens + template_slack;
  conv_budget = std::min(conv_budget, window / 2);
  const int64_t chunk_max = std::min<int64_t>(o.max_chunk_tokens, window - static_cast<int64_t>(head.size()) -
                                                                      conv_budget - (chat ? 64 : 0));
  if (chunk_max < 1)
    throw InvalidArgument("synthesize: no room for a chunk in the model's " + std::to_string(window) +
                          "-token window; shorten the corpus description or the speakers' max tokens");
  Chunker chunker(static_cast<int64_t>(corpus.size()), std::min(o.min_chunk_tokens, chunk_max), chunk_max);
  std::vector<int32_t> stop = chat ? chat_stop_ids(o.format, tokenizer) : tokenizer.eos_ids();
  if (!chat && bos >= 0) stop.push_back(bos);  // a base model starts a new document: the story is over

  SyntheticDataset data;
  data.top_k = k;
  for (int64_t first = 0; first < o.conversations; first += o.batch_size) {
    const int64_t n = std::min(o.batch_size, o.conversations - first);
    std::vector<Pending> batch;
    for (int64_t i = first; i < first + n; ++i) {
      Pending p;
      p.index = i;
      SeededRng crng(o.seed, RngStream::Chunk, static_cast<uint64_t>(i));
      p.chunk = chunker.sample(crng);
      batch.push_back(std::move(p));
    }
    std::vector<uint64_t> rows;
    for (auto& p : batch) rows.push_back(static_cast<uint64_t>(p.index) * 2);
    if (!chat) {
      std::vector<std::vector<int32_t>> ctx;
      std::vector<int64_t> max_new;
      for (auto& p : batch) {
        std::vector<int32_t> chunk(corpus.begin() + p.chunk.begin, corpus.begin() + p.chunk.end);
        SeededRng srng(o.seed, RngStream::SeedPrompt, static_cast<uint64_t>(p.index));
        p.seed = sample_base_opener(tokenizer.decode(chunk), srng, o.opener_from_chunk, o.opener_max_words);
        p.context = head;
        p.context.insert(p.context.end(), chunk.begin(), chunk.end());
        p.conversation = tokenizer.encode(p.seed.text, false);
        std::vector<int32_t> c = p.context;
        c.insert(c.end(), p.conversation.begin(), p.conversation.end());
        max_new.push_back(std::max<int64_t>(0, std::min(o.b_max_tokens, window - static_cast<int64_t>(c.size()))));
        ctx.push_back(std::move(c));
      }
      auto cont = sample_continuations(model, ctx, max_new, rows, SamplingSpec{o.b_temperature, stop, o.seed});
      for (size_t j = 0; j < batch.size(); ++j)
        batch[j].conversation.insert(batch[j].conversation.end(), cont[j].begin(), cont[j].end());
    } else {
      // Speaker A: the user turn, from the seed prompt, with the chunk in view.
      std::vector<std::vector<int32_t>> a_ctx;
      std::vector<int64_t> a_max;
      std::vector<std::string> sys;
      for (auto& p : batch) {
        std::vector<int32_t> chunk(corpus.begin() + p.chunk.begin, corpus.begin() + p.chunk.end);
        SeededRng srng(o.seed, RngStream::SeedPrompt, static_cast<uint64_t>(p.index));
        p.seed = sample_chat_seed(srng);
        sys.push_back(chat_system_prompt(o.corpus_description, tokenizer.decode(chunk)));
        auto c = tokenizer.encode(render_chat(o.format, {{"system", sys.back()}, {"user", p.seed.text}}, true), false);
        a_max.push_back(std::max<int64_t>(0, std::min(o.a_max_tokens, window / 4)));
        a_ctx.push_back(std::move(c));
      }
      auto a_out = sample_continuations(model, a_ctx, a_max, rows, SamplingSpec{o.a_temperature, stop, o.seed});
      // Speaker B: answers A's message with the chunk in context.
      std::vector<std::vector<int32_t>> b_ctx;
      std::vector<int64_t> b_max;
      std::vector<std::string> msgs;
      for (size_t j = 0; j < batch.size(); ++j) {
        msgs.push_back(tokenizer.decode(a_out[j]));
        auto c = tokenizer.encode(render_chat(o.format, {{"system", sys[j]}, {"user", msgs[j]}}, true), false);
        b_max.push_back(std::max<int64_t>(0, std::min(o.b_max_tokens, window - static_cast<int64_t>(c.size()) - 8)));
        b_ctx.push_back(std::move(c));
      }
      std::vector<uint64_t> rows_b;
      for (auto r : rows) rows_b.push_back(r + 1);
      auto b_out = sample_continuations(model, b_ctx, b_max, rows_b, SamplingSpec{o.b_temperature, stop, o.seed});
      for (size_t j = 0; j < batch.size(); ++j) {
        auto& p = batch[j];
        p.context = tokenizer.encode(render_chat(o.format, {{"system", sys[j]}}, false), false);
        auto full = tokenizer.encode(render_chat(o.format, {{"system", sys[j]}, {"user", msgs[j]},
                                                            {"assistant", tokenizer.decode(b_out[j])}}, false), false);
        p.conversation = suffix_after(full, p.context);
        p.context.resize(full.size() - p.conversation.size());
        // Held to the window: the teacher must see all of it.
        int64_t room = window - static_cast<int64_t>(p.context.size());
        if (static_cast<int64_t>(p.conversation.size()) > room) p.conversation.resize(static_cast<size_t>(std::max<int64_t>(room, 0)));
      }
    }
    std::vector<std::vector<int32_t>> ctxs, convs, ids;
    std::vector<std::vector<float>> lps;
    for (auto& p : batch) {
      if (p.conversation.empty()) p.conversation.push_back(tokenizer.encode(".", false).back());
      ctxs.push_back(p.context);
      convs.push_back(p.conversation);
    }
    teacher_topk(model, ctxs, convs, k, &ids, &lps);
    for (size_t j = 0; j < batch.size(); ++j) {
      SyntheticExample e;
      e.tokens = std::move(batch[j].conversation);
      e.topk_ids = std::move(ids[j]);
      e.topk_logprobs = std::move(lps[j]);
      e.chunk = batch[j].chunk;
      e.seed_kind = static_cast<int32_t>(batch[j].seed.kind);
      data.examples.push_back(std::move(e));
    }
    if (callback && !callback(first + n, o.conversations))
      throw Cancelled("self-study synthesis cancelled after " + std::to_string(first + n) + " of " +
                      std::to_string(o.conversations) + " conversations");
  }
  return data;
}

SyntheticDataset corpus_ntp_dataset(const std::vector<int32_t>& corpus, int64_t count, int64_t window, uint64_t seed) {
  if (static_cast<int64_t>(corpus.size()) < 2) throw InvalidArgument("corpus_ntp_dataset: the corpus needs >= 2 tokens");
  if (count < 1 || window < 1) throw InvalidArgument("corpus_ntp_dataset: count and window must be >= 1");
  const int64_t w = std::min<int64_t>(window, static_cast<int64_t>(corpus.size()) - 1);
  SyntheticDataset d;
  d.top_k = 1;
  for (int64_t i = 0; i < count; ++i) {
    SeededRng rng(seed, RngStream::Chunk, static_cast<uint64_t>(i));
    int64_t b = static_cast<int64_t>(rng.below(static_cast<uint64_t>(static_cast<int64_t>(corpus.size()) - w)));
    SyntheticExample e;
    e.tokens.assign(corpus.begin() + b, corpus.begin() + b + w);
    e.topk_ids.assign(corpus.begin() + b + 1, corpus.begin() + b + w + 1);
    e.topk_logprobs.assign(static_cast<size_t>(w), 0.f);
    e.chunk = {b, b + w + 1};
    d.examples.push_back(std::move(e));
  }
  return d;
}

}  // namespace cdb
