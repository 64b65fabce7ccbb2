#include "train/synthesizer.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>

#include "common/error.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/kv_cache.h"
#include "engine/kv_slots.h"
#include "engine/transformer.h"
#include "scheduler/scheduler.h"
#include "train/continuation_sampler.h"
#include "train/seed_prompts.h"
#include "train/seeded_rng.h"

namespace cdb {
namespace {

// A chunk and its context (BOS and description, or the chat system part),
// prefilled once; shared by the conversations sampled from it.
struct ChunkGroup {
  ChunkSpan chunk;
  std::shared_ptr<const Cartridge> context;  // the context's KV, keys post-RoPE at 0..n-1
  int64_t context_tokens = 0;
  std::string system;                         // chat: the system message (the chunk)
  std::vector<int32_t> context_ids;           // chat: the system part's tokens
};

// One conversation on its way through the engine.
struct Conversation {
  int64_t index = 0;
  std::shared_ptr<const ChunkGroup> group;
  SeedPrompt seed;
  std::vector<int32_t> prompt;  // what the recorded request reads after the context
  bool answering = false;       // chat: speaker B (else A); base models: always B
  std::shared_ptr<ServeTicket> ticket;
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
  // A private engine: as many slots as conversations run at once. A slot
  // holds what follows the shared chunk: the opener or the user turn, and
  // the answer.
  const bool chat = o.format != ChatFormat::Plain;
  const int64_t turn = chat ? o.a_max_tokens + 192 + static_cast<int64_t>(o.corpus_description.size()) : 80;
  SchedulerOptions so;
  so.max_batch = std::max<int64_t>(1, o.batch_size);
  so.slot_tokens = std::min<int64_t>(model.config().max_seq_len, turn + std::max<int64_t>(o.b_max_tokens, 0) + 1);
  so.kv_budget_bytes = so.max_batch * KVSlots::slot_bytes(model.config(), so.slot_tokens, model.dtype());
  so.live_reserve = 0;
  so.max_queue_wait_s = 1e9;
  Scheduler engine(model, so);
  return synthesize(engine, tokenizer, corpus, o, callback);
}

SyntheticDataset synthesize(Scheduler& engine, const Tokenizer& tokenizer, const std::vector<int32_t>& corpus,
                            const SynthesisOptions& o, const SynthesisCallback& callback) {
  Transformer& model = engine.model();
  if (corpus.empty()) throw InvalidArgument("synthesize: the corpus is empty");
  if (o.conversations < 1 || o.batch_size < 1 || o.top_k < 1 || o.conversations_per_chunk < 1)
    throw InvalidArgument("synthesize: conversations, batch_size, conversations_per_chunk and top_k must be >= 1");
  const int64_t window = model.config().max_seq_len;
  const int64_t V = model.config().vocab_size;
  const int64_t k = std::min(o.top_k, V);
  const bool chat = o.format != ChatFormat::Plain;
  const int32_t bos = tokenizer.bos_id();
  const int64_t slot = engine.stats().slot_tokens;

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

  // The chunk of group g (conversations g*c .. g*c+c-1), prefilled once as
  // a Cartridge that the group's requests share (Hydragen): its KV is
  // exactly that of the chunk in the context, keys post-RoPE at 0..n-1.
  // Groups are prefilled several at once (left-padded rows of one forward):
  // on a small model one chunk alone costs nearly what eight do.
  const int64_t groups_total = (o.conversations + o.conversations_per_chunk - 1) / o.conversations_per_chunk;
  // At most ~4k context tokens a forward: without a fused attention kernel
  // (LibTorch 1.13) the scores of 8 rows of 4k tokens alone would take GBs.
  const int64_t context_max = static_cast<int64_t>(head.size()) + chunk_max + (chat ? 128 : 0);
  const int64_t prefill_rows = std::max<int64_t>(
      1, std::min<int64_t>({8, 2 * o.batch_size / o.conversations_per_chunk, 4096 / std::max<int64_t>(context_max, 1)}));
  std::map<int64_t, std::shared_ptr<ChunkGroup>> groups;  // g -> its chunk and context
  auto prefill_groups = [&](int64_t first) {
    groups.erase(groups.begin(), groups.lower_bound(first));  // earlier groups have all started
    const int64_t n = std::min(prefill_rows, groups_total - first);
    std::vector<std::vector<int32_t>> contexts;
    int64_t longest = 0;
    for (int64_t g = first; g < first + n; ++g) {
      auto c = std::make_shared<ChunkGroup>();
      SeededRng crng(o.seed, RngStream::Chunk, static_cast<uint64_t>(g));
      c->chunk = chunker.sample(crng);
      std::vector<int32_t> chunk(corpus.begin() + c->chunk.begin, corpus.begin() + c->chunk.end);
      std::vector<int32_t> context = head;
      if (chat) {
        c->system = chat_system_prompt(o.corpus_description, tokenizer.decode(chunk));
        context = tokenizer.encode(render_chat(o.format, {{"system", c->system}}, false), false);
        c->context_ids = context;
      } else {
        context.insert(context.end(), chunk.begin(), chunk.end());
      }
      c->context_tokens = static_cast<int64_t>(context.size());
      longest = std::max(longest, c->context_tokens);
      contexts.push_back(std::move(context));
      groups.emplace(g, std::move(c));
    }
    at::InferenceMode guard;
    at::Tensor tokens = at::zeros({n, longest}, at::kLong), pad = at::zeros({n}, at::kLong);
    for (int64_t r = 0; r < n; ++r) {
      const auto& ctx = contexts[static_cast<size_t>(r)];
      const int64_t p = longest - static_cast<int64_t>(ctx.size());
      pad[r] = p;
      tokens[r].narrow(0, p, static_cast<int64_t>(ctx.size()))
          .copy_(at::tensor(std::vector<int64_t>(ctx.begin(), ctx.end()), at::kLong));
    }
    KVCache cache = model.new_cache(n, longest);
    cache.set_padding(pad.to(model.device()));
    model.forward(tokens.to(model.device()), cache, nullptr, /*last_only=*/true);
    for (int64_t r = 0; r < n; ++r)
      groups[first + r]->context = std::make_shared<const Cartridge>(cache.to_cartridge(r));
  };
  auto group_of = [&](int64_t g) {
    if (!groups.count(g)) prefill_groups(g);
    return std::shared_ptr<const ChunkGroup>(groups.at(g));
  };
  // Chat: what follows the system part in a rendering (the template puts
  // special tokens at the boundary, so the system part is a prefix).
  auto after_system = [&](const ChunkGroup& g, const std::string& user) {
    auto full = tokenizer.encode(render_chat(o.format, {{"system", g.system}, {"user", user}}, true), false);
    const auto& head_ids = g.context_ids;
    if (full.size() <= head_ids.size() || !std::equal(head_ids.begin(), head_ids.end(), full.begin()))
      throw InvalidArgument("synthesize: the chat template's rendering of a conversation does not begin with its "
                            "system part's tokens; self-study cannot share the chunk for this format");
    return std::vector<int32_t>(full.begin() + static_cast<std::ptrdiff_t>(head_ids.size()), full.end());
  };
  auto request = [&](const Conversation& c, bool answering) {
    ServeRequest r;
    r.prompt = c.prompt;
    r.prefix = c.group->context;
    r.share_prefix = true;
    r.background = true;
    r.stop_at_eos = false;
    r.stop_tokens = stop;
    r.sampling.temperature = static_cast<float>(std::max(0.0, answering ? o.b_temperature : o.a_temperature));
    // Token t of conversation i draws SeededRng(seed, Sampling, row * 2^20 + t),
    // row = 2i for speaker A and for a base model's continuation, 2i + 1 for
    // speaker B of a chat: a pure function of the coordinates.
    const uint64_t row = static_cast<uint64_t>(c.index) * 2 + (answering && chat ? 1 : 0);
    r.uniform = [seed = o.seed, row](int64_t t) {
      return SeededRng(seed, RngStream::Sampling, (row << 20) + static_cast<uint64_t>(t)).uniform();
    };
    const int64_t room = std::min(window - c.group->context_tokens, slot) - static_cast<int64_t>(c.prompt.size()) - 1;
    if (answering) {
      // One token more than kept: the distribution after the last kept
      // token is the teacher's row for it (see ServeRequest::record_topk).
      r.max_tokens = std::max<int64_t>(0, std::min(o.b_max_tokens, room)) + 1;
      r.record_topk = k;
    } else {
      r.max_tokens = std::max<int64_t>(1, std::min({o.a_max_tokens, window / 4, room}));
    }
    return r;
  };

  SyntheticDataset data;
  data.top_k = k;
  data.examples.resize(static_cast<size_t>(o.conversations));
  const size_t in_flight = static_cast<size_t>(std::max<int64_t>(2, 2 * o.batch_size));
  std::vector<Conversation> running;
  int64_t next = 0, done = 0;
  auto cancel_all = [&] {
    for (auto& c : running)
      if (c.ticket) c.ticket->cancel();  // (a chat conversation between its two turns has none)
  };
  try {
    while (done < o.conversations) {
      std::vector<ServeRequest> batch;
      std::vector<Conversation*> waiting;
      for (; next < o.conversations && running.size() < in_flight; ++next) {
        Conversation c;
        c.index = next;
        c.group = group_of(next / o.conversations_per_chunk);
        SeededRng srng(o.seed, RngStream::SeedPrompt, static_cast<uint64_t>(next));
        if (chat) {
          c.seed = sample_chat_seed(srng);
          c.prompt = after_system(*c.group, c.seed.text);
        } else {
          std::vector<int32_t> chunk(corpus.begin() + c.group->chunk.begin, corpus.begin() + c.group->chunk.end);
          c.seed = sample_base_opener(tokenizer.decode(chunk), srng, o.opener_from_chunk, o.opener_max_words);
          c.prompt = tokenizer.encode(c.seed.text, false);
          if (c.prompt.empty()) c.prompt.push_back(tokenizer.encode(".", false).back());
          c.answering = true;
        }
        running.push_back(std::move(c));
      }
      for (auto& c : running)
        if (!c.ticket) {
          batch.push_back(request(c, c.answering));
          waiting.push_back(&c);
        }
      if (!batch.empty()) {
        auto tickets = engine.submit_all(std::move(batch));
        for (size_t j = 0; j < tickets.size(); ++j) waiting[j]->ticket = std::move(tickets[j]);
      }
      if (!running.front().ticket->wait_for(std::chrono::milliseconds(20))) {
        bool any = false;
        for (auto& c : running) any = any || c.ticket->wait_for(std::chrono::milliseconds(0));
        if (!any) continue;
      }
      for (auto it = running.begin(); it != running.end();) {
        if (!it->ticket->wait_for(std::chrono::milliseconds(0))) {
          ++it;
          continue;
        }
        ServeResult r = it->ticket->wait();
        if (!it->answering) {
          // Speaker A's message becomes the user turn B answers, with the
          // chunk still in context.
          it->prompt = after_system(*it->group, tokenizer.decode(r.tokens));
          it->answering = true;
          it->ticket.reset();
          ++it;
          continue;
        }
        SyntheticExample& e = data.examples[static_cast<size_t>(it->index)];
        const int64_t kept = r.topk_rows - static_cast<int64_t>(it->prompt.size());
        e.tokens = std::move(it->prompt);
        e.tokens.insert(e.tokens.end(), r.tokens.begin(), r.tokens.begin() + std::max<int64_t>(0, kept));
        e.topk_ids = std::move(r.topk_ids);
        e.topk_logprobs = std::move(r.topk_logprobs);
        e.chunk = it->group->chunk;
        e.seed_kind = static_cast<int32_t>(it->seed.kind);
        it = running.erase(it);
        ++done;
        if (callback && !callback(done, o.conversations)) {
          cancel_all();
          throw Cancelled("self-study synthesis cancelled after " + std::to_string(done) + " of " +
                          std::to_string(o.conversations) + " conversations");
        }
      }
    }
  } catch (...) {
    cancel_all();
    throw;
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
