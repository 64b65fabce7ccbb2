// Continuous batching: concurrent requests join a running batch. Each turn
// of the scheduler's loop admits queued requests (prefilling their prompts,
// up to a token budget) and then runs one decode step for every running
// request, whatever Cartridges they read: requests sharing a Cartridge
// attend to it together (Transformer::decode's shared groups), the rest
// read a private copy in their own KV slot.
//
// Memory: the per-request KV lives in a KVSlots pool sized once from a byte
// budget, so admission is by free slot and serving never allocates KV. When
// every slot is taken, requests wait in FIFO order; one that waits longer
// than max_queue_wait_s fails with ResourceExhausted instead of waiting
// forever. A cancelled request leaves the batch at the next step and its
// slot is free at once.
//
// Live questions come first: background requests (self-study synthesis)
// wait while a live one is queued, and never take the last live_reserve
// share of the slots, so a question arriving during a training job finds a
// slot at the next step instead of queueing behind hundreds of synthetic
// conversations.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/decode_graphs.h"
#include "engine/kv_slots.h"
#include "engine/transformer.h"
#include "scheduler/serve_request.h"

namespace cdb {

struct SchedulerOptions {
  int64_t kv_budget_bytes = int64_t{1} << 30;  // the KV pool (all slots)
  int64_t slot_tokens = 0;       // tokens per request slot; 0: min(context window, 4096)
  int64_t max_batch = 256;       // at most this many slots, whatever the budget
  double max_queue_wait_s = 120; // then ResourceExhausted
  int64_t prefill_tokens_per_step = 1024;  // prompt tokens admitted between two decode steps
  bool cuda_graphs = true;       // replay steps of an unchanged batch as CUDA graphs (engine/decode_graphs.h)
  double live_reserve = 0.25;    // share of the slots background requests may not take (at least 1 of 2 or more)
};

class Scheduler {
 public:
  // Allocates the KV pool; ResourceExhausted when the budget holds no slot.
  Scheduler(Transformer& model, SchedulerOptions options = {});
  // Fails what is queued or running with Cancelled and stops the thread.
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues a request. InvalidArgument for an empty prompt; ResourceExhausted
  // when prompt + private prefix + max_tokens exceed a slot.
  std::shared_ptr<ServeTicket> submit(ServeRequest request);
  // Queues several at once, in order: the loop admits none of them before
  // all are queued (so a private Scheduler fed only through this forms the
  // same batches on every run). All are checked before any is queued.
  std::vector<std::shared_ptr<ServeTicket>> submit_all(std::vector<ServeRequest> requests);

  Transformer& model() const { return model_; }
  // Slots background requests may hold at once.
  int64_t background_slots() const;

  struct Stats {
    int64_t slots = 0, slot_tokens = 0, slot_bytes = 0;
    int64_t running = 0, queued = 0;
    int64_t steps = 0, decoded_tokens = 0, prefilled_tokens = 0, largest_batch = 0;
    int64_t graph_replays = 0;  // decode steps replayed from a CUDA graph
    int64_t background_running = 0, background_tokens = 0;  // self-study's share
  };
  Stats stats() const;
  const SchedulerOptions& options() const { return options_; }

 private:
  using Clock = std::chrono::steady_clock;
  struct Pending {
    std::shared_ptr<ServeTicket> ticket;
    ServeRequest request;
    Clock::time_point submitted;
  };
  struct Active;

  void loop();
  void drop_cancelled_and_expired(std::vector<Pending>& failed);
  void check(const ServeRequest& request) const;
  // Running requests that are background work (the loop's thread).
  int64_t background_running() const;
  // Moves what may start now from queue_ to `admitted` (mu_ held).
  void take_admissible(std::vector<Pending>& admitted);
  void admit_one(Pending p);
  void decode_step();
  // Appends the top-k of logits [n, vocab] to the request's recorded rows.
  static void record(Active& r, const at::Tensor& logits);
  // Records token `id` for running_[row]; true when the request is done.
  bool take_token(size_t row, int32_t id);
  void finish(size_t row, std::exception_ptr error);
  void remove_finished();

  Transformer& model_;
  SchedulerOptions options_;
  KVSlots slots_;
  DecodeGraphs graphs_;
  int64_t slot_bytes_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  Stats stats_;

  // Owned by the loop's thread.
  std::vector<std::unique_ptr<Active>> running_;  // index = KV slot row
  std::thread thread_;
};

}  // namespace cdb
