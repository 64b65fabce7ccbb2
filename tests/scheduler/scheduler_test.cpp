// Continuous batching and shared-prefix attention, on the real stories260K
// model: decode steps over a KV pool equal each sequence run alone; the
// scheduler's answers equal generate()'s whatever joins the batch when;
// admission by free slot in FIFO order; cancellation frees the slot; a
// request that waits too long or cannot fit fails with a clear error.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "common/error.h"
#include "common/models_dir.h"
#include "engine/generator.h"
#include "engine/llama2c_loader.h"
#include "scheduler/scheduler.h"

namespace cdb {
namespace {

using std::chrono::milliseconds;

struct Stories {
  Transformer model{load_llama2c(model_file("stories260K/stories260K.bin"))};
  std::unique_ptr<Tokenizer> tok = load_tokenizer(model_file("stories260K/tok512.bin"));
  std::vector<int32_t> encode(const std::string& s) const { return tok->encode(s, /*add_bos=*/true); }
  std::shared_ptr<const Cartridge> cartridge(const std::string& text) {
    c10::InferenceMode guard;
    return std::make_shared<const Cartridge>(model.prefill_cartridge(encode(text)));
  }
};

at::Tensor row_tokens(const std::vector<int32_t>& ids) {
  return at::tensor(std::vector<int64_t>(ids.begin(), ids.end()), at::kLong).view({1, static_cast<int64_t>(ids.size())});
}

// Four sequences: two share Cartridge A (one group), one reads Cartridge B
// from its own slot, one has none. Every decode step's logits must equal
// the same sequence decoded alone through forward().
TEST(Decode, SharedAndPrivatePrefixesEqualEachSequenceAlone) {
  Stories s;
  c10::InferenceMode guard;
  auto A = s.cartridge("Lily had a red ball. She liked to play with it in the park.");
  auto B = s.cartridge("Tom was a big dog who loved bones.");
  struct Seq {
    std::vector<int32_t> prompt;
    const Cartridge* prefix;
    bool shared;
  };
  std::vector<Seq> seqs = {{s.encode("One day Lily"), A.get(), true},
                           {s.encode("The ball was"), A.get(), true},
                           {s.encode("Tom ran to"), B.get(), false},
                           {s.encode("Once upon a time there was"), nullptr, false}};
  const int64_t N = static_cast<int64_t>(seqs.size());
  KVSlots slots(s.model.config(), 6, 128, s.model.options());
  std::vector<KVCache> alone;
  std::vector<int64_t> length(N), shared_tokens(N);
  std::vector<int32_t> next(N);
  for (int64_t i = 0; i < N; ++i) {
    const Seq& q = seqs[static_cast<size_t>(i)];
    alone.push_back(s.model.new_cache(1, 128));
    at::Tensor ref = s.model.forward(row_tokens(q.prompt), alone.back(), q.prefix, true);
    int64_t len = 0;
    if (q.prefix && !q.shared) len = slots.write_prefix(i, *q.prefix);
    KVCache view = slots.cache(i, len);
    at::Tensor got = s.model.forward(row_tokens(q.prompt), view, q.shared ? q.prefix : nullptr, true);
    ASSERT_TRUE(at::allclose(got, ref, 1e-5, 1e-4)) << "prefill of sequence " << i;
    length[i] = len + static_cast<int64_t>(q.prompt.size());
    shared_tokens[i] = q.shared ? q.prefix->tokens() : 0;
    next[i] = static_cast<int32_t>(ref.argmax(-1).item<int64_t>());
  }
  for (int step = 0; step < 12; ++step) {
    DecodeBatch b;
    std::vector<int64_t> tok(next.begin(), next.end()), pos(N);
    for (int64_t i = 0; i < N; ++i) pos[i] = shared_tokens[i] + length[i];
    b.tokens = at::tensor(tok, at::kLong);
    b.lengths = at::tensor(length, at::kLong);
    b.positions = at::tensor(pos, at::kLong);
    b.max_length = *std::max_element(length.begin(), length.end());
    b.shared.push_back({A.get(), at::tensor(std::vector<int64_t>{0, 1}, at::kLong)});
    at::Tensor logits = s.model.decode(b, slots);
    ASSERT_EQ(logits.sizes(), (std::vector<int64_t>{N, s.model.config().vocab_size}));
    for (int64_t i = 0; i < N; ++i) {
      const Seq& q = seqs[static_cast<size_t>(i)];
      at::Tensor ref = s.model.forward(row_tokens({next[i]}), alone[static_cast<size_t>(i)], q.prefix, true).view({-1});
      EXPECT_TRUE(at::allclose(logits[i], ref, 1e-5, 1e-4))
          << "step " << step << " sequence " << i << ": max diff " << (logits[i] - ref).abs().max().item<float>();
      length[i] += 1;
      next[i] = static_cast<int32_t>(ref.argmax().item<int64_t>());
    }
  }
}

GenerateOptions greedy(int64_t n) {
  GenerateOptions o;
  o.sampling.temperature = 0;
  o.max_tokens = n;
  return o;
}

ServeRequest request(const std::vector<int32_t>& prompt, std::shared_ptr<const Cartridge> prefix, int64_t n,
                     bool share = true) {
  ServeRequest r;
  r.prompt = prompt;
  r.prefix = std::move(prefix);
  r.share_prefix = share;
  r.sampling.temperature = 0;
  r.max_tokens = n;
  return r;
}

TEST(Scheduler, AnswersEqualGenerateWhateverJoinsTheBatchWhen) {
  Stories s;
  auto A = s.cartridge("Lily had a red ball. She liked to play with it in the park.");
  auto B = s.cartridge("Tom was a big dog who loved bones.");
  struct Case {
    std::string prompt;
    std::shared_ptr<const Cartridge> prefix;
    bool share;
    int64_t n;
  };
  std::vector<Case> cases = {{"One day Lily", A, true, 40},   {"The ball", A, true, 25},
                             {"Tom ran", B, false, 30},       {"Once upon a time", nullptr, true, 35},
                             {"Lily and Tom", A, true, 20},   {"The dog", B, true, 28}};
  Scheduler sched(s.model, SchedulerOptions{.kv_budget_bytes = 64 << 20, .slot_tokens = 256});
  std::vector<std::shared_ptr<ServeTicket>> tickets;
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    tickets.push_back(sched.submit(request(s.encode(c.prompt), c.prefix, c.n, c.share)));
    // Stagger arrivals so that later requests join a batch mid-decode.
    if (i % 2 == 1) tickets.front()->wait_for(milliseconds(5));
  }
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    ServeResult got = tickets[i]->wait();
    Generation ref = generate(s.model, *s.tok, s.encode(c.prompt), c.prefix.get(), greedy(c.n));
    EXPECT_EQ(got.tokens, ref.tokens) << "request " << i << " (" << c.prompt << ")";
    EXPECT_EQ(got.finish, ref.finish) << "request " << i;
  }
  const auto st = sched.stats();
  EXPECT_GT(st.largest_batch, 1) << "requests never shared a decode step";
  EXPECT_EQ(st.running, 0);
}

TEST(Scheduler, AdmitsByFreeSlotInFifoOrder) {
  Stories s;
  const int64_t slot = 128;
  const int64_t two = 2 * KVSlots::slot_bytes(s.model.config(), slot, s.model.dtype());
  Scheduler sched(s.model, SchedulerOptions{.kv_budget_bytes = two, .slot_tokens = slot});
  ASSERT_EQ(sched.stats().slots, 2);
  std::mutex mu;
  std::vector<int> first_token_order;
  std::vector<std::shared_ptr<ServeTicket>> tickets;
  for (int i = 0; i < 5; ++i) {
    ServeRequest r = request(s.encode("Once upon a time"), nullptr, 30);
    r.stop_at_eos = false;
    r.on_token = [&, i, seen = false](int32_t) mutable {
      if (seen) return;
      seen = true;
      std::lock_guard lock(mu);
      first_token_order.push_back(i);
    };
    tickets.push_back(sched.submit(std::move(r)));
  }
  for (auto& t : tickets) EXPECT_EQ(t->wait().tokens.size(), 30u);
  EXPECT_EQ(first_token_order, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(sched.stats().largest_batch, 2);
}

TEST(Scheduler, CancelFreesTheSlotForTheNextRequest) {
  Stories s;
  const int64_t slot = 256;
  Scheduler sched(s.model, SchedulerOptions{.kv_budget_bytes = KVSlots::slot_bytes(s.model.config(), slot, s.model.dtype()),
                                            .slot_tokens = slot});
  std::atomic<int> produced{0};
  ServeRequest longer = request(s.encode("Once upon a time"), nullptr, 240);
  longer.stop_at_eos = false;
  longer.on_token = [&](int32_t) {
    produced++;
    std::this_thread::sleep_for(milliseconds(5));  // slow enough to be cancelled midway
  };
  auto a = sched.submit(std::move(longer));
  auto b = sched.submit(request(s.encode("Lily"), nullptr, 10));
  while (produced.load() < 3) std::this_thread::sleep_for(milliseconds(1));
  a->cancel();
  EXPECT_THROW(a->wait(), Cancelled);
  EXPECT_LT(produced.load(), 240);
  EXPECT_FALSE(b->wait().tokens.empty());
}

TEST(Scheduler, ARequestWaitingPastTheCapFails) {
  Stories s;
  const int64_t slot = 256;
  Scheduler sched(s.model, SchedulerOptions{.kv_budget_bytes = KVSlots::slot_bytes(s.model.config(), slot, s.model.dtype()),
                                            .slot_tokens = slot,
                                            .max_queue_wait_s = 0.05});
  ServeRequest longer = request(s.encode("Once upon a time"), nullptr, 100);
  longer.stop_at_eos = false;
  longer.on_token = [](int32_t) { std::this_thread::sleep_for(milliseconds(3)); };  // >= 0.3 s in the slot
  auto a = sched.submit(std::move(longer));
  auto b = sched.submit(request(s.encode("Lily"), nullptr, 10));
  EXPECT_THROW(b->wait(), ResourceExhausted);
  EXPECT_EQ(a->wait().tokens.size(), 100u);
}

TEST(Scheduler, RejectsWhatCannotFit) {
  Stories s;
  EXPECT_THROW(Scheduler(s.model, SchedulerOptions{.kv_budget_bytes = 1000, .slot_tokens = 128}), ResourceExhausted);
  Scheduler sched(s.model, SchedulerOptions{.kv_budget_bytes = 16 << 20, .slot_tokens = 64});
  EXPECT_THROW(sched.submit(request(s.encode("Once upon a time"), nullptr, 60)), ResourceExhausted);
  EXPECT_THROW(sched.submit(request({}, nullptr, 10)), InvalidArgument);
  EXPECT_THROW(sched.submit(request({1, 99999}, nullptr, 10)), InvalidArgument);
  auto big = s.cartridge("Lily had a red ball. She liked to play with it in the park every day.");
  EXPECT_THROW(sched.submit(request(s.encode("Lily"), big, 40, /*share=*/false)), ResourceExhausted);
  EXPECT_NO_THROW(sched.submit(request(s.encode("Lily"), big, 40, /*share=*/true))->wait());
}

TEST(Scheduler, LiveQuestionsGoAheadOfBackgroundWorkIntoTheirReservedSlot) {
  Stories s;
  const int64_t slot = 128;
  Scheduler sched(s.model, SchedulerOptions{.kv_budget_bytes = 4 * KVSlots::slot_bytes(s.model.config(), slot, s.model.dtype()),
                                            .slot_tokens = slot});
  ASSERT_EQ(sched.stats().slots, 4);
  ASSERT_EQ(sched.background_slots(), 3);  // a quarter of the slots is kept for live questions
  std::mutex mu;
  std::vector<int> first_token_order;  // -1: the live question
  auto note_first = [&](int who) {
    return [&, who, seen = false](int32_t) mutable {
      std::this_thread::sleep_for(milliseconds(2));
      if (seen) return;
      seen = true;
      std::lock_guard lock(mu);
      first_token_order.push_back(who);
    };
  };
  std::vector<ServeRequest> work;
  for (int i = 0; i < 6; ++i) {
    ServeRequest r = request(s.encode("Once upon a time"), nullptr, 40);
    r.stop_at_eos = false;
    r.background = true;
    r.on_token = note_first(i);
    work.push_back(std::move(r));
  }
  auto tickets = sched.submit_all(std::move(work));
  int64_t most_background = 0;
  for (int i = 0; i < 20; ++i) {
    most_background = std::max(most_background, sched.stats().background_running);
    std::this_thread::sleep_for(milliseconds(2));
  }
  ServeRequest live = request(s.encode("Lily"), nullptr, 5);
  live.on_token = note_first(-1);
  const auto result = sched.submit(std::move(live))->wait();
  for (auto& t : tickets) {
    EXPECT_EQ(t->wait().tokens.size(), 40u);
    most_background = std::max(most_background, sched.stats().background_running);
  }
  EXPECT_LE(most_background, 3);
  EXPECT_FALSE(result.tokens.empty());
  // The live question started before any background request queued behind
  // the first three (each of those holds its slot for 40 tokens).
  ASSERT_EQ(first_token_order.size(), 7u);
  const auto live_at = std::find(first_token_order.begin(), first_token_order.end(), -1) - first_token_order.begin();
  EXPECT_EQ(live_at, 3) << "background work took the slot a live question needed";
}

TEST(Scheduler, RecordedTopKAreTheGeneratingPassesLogProbs) {
  Stories s;
  Scheduler sched(s.model, SchedulerOptions{.kv_budget_bytes = 16 << 20, .slot_tokens = 128});
  auto ctx = s.cartridge("Lily had a red ball. She liked to play with it in the park.");
  const std::vector<int32_t> prompt = s.tok->encode("One day Lily went", false);
  ServeRequest r = request(prompt, ctx, 6);
  r.stop_at_eos = false;
  r.record_topk = 5;
  r.record_from = 1;
  r.sampling.temperature = 0.8f;
  r.sampling.seed = 3;
  const ServeResult got = sched.submit(std::move(r))->wait();
  ASSERT_EQ(got.tokens.size(), 6u);
  // One row per prompt token from record_from, one per generated token fed back (all but the last).
  const int64_t rows = static_cast<int64_t>(prompt.size()) - 1 + 5;
  ASSERT_EQ(got.topk_rows, rows);
  ASSERT_EQ(got.topk_ids.size(), static_cast<size_t>(rows * 5));
  // The same rows from one forward over prompt + generated tokens after the Cartridge.
  c10::InferenceMode guard;
  std::vector<int32_t> all = prompt;
  all.insert(all.end(), got.tokens.begin(), got.tokens.end() - 1);
  KVCache cache = s.model.new_cache(1, static_cast<int64_t>(all.size()));
  at::Tensor lp = at::log_softmax(s.model.forward(row_tokens(all), cache, ctx.get())[0], -1);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < 5; ++j) {
      const int32_t id = got.topk_ids[static_cast<size_t>(i * 5 + j)];
      EXPECT_NEAR(got.topk_logprobs[static_cast<size_t>(i * 5 + j)], lp[1 + i][id].item<float>(), 1e-4)
          << "row " << i << " rank " << j;
    }
  auto [best, idx] = lp.narrow(0, 1, rows).topk(5, -1);
  for (int64_t i = 0; i < rows; ++i)
    EXPECT_NEAR(got.topk_logprobs[static_cast<size_t>(i * 5)], best[i][0].item<float>(), 1e-4);
}

}  // namespace
}  // namespace cdb
