// One question for the Scheduler: its prompt, the Cartridge it reads, how to
// sample, when to stop, and where its tokens go.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "engine/cartridge.h"
#include "engine/generator.h"
#include "engine/sampler.h"

namespace cdb {

struct ServeRequest {
  std::vector<int32_t> prompt;  // token ids (BOS included if wanted); not empty
  // The composed Cartridge the prompt follows, or null. Held until the
  // request ends. Requests holding the same Cartridge object share its KV.
  std::shared_ptr<const Cartridge> prefix;
  // false: the Cartridge is copied into this request's own KV slot instead
  // (a prefix nobody else reads: one batched product for all such rows
  // beats one small product per Cartridge).
  bool share_prefix = true;
  SamplingParams sampling;
  int64_t max_tokens = 256;
  bool stop_at_eos = true;
  std::vector<int32_t> stop_tokens;
  // Each generated token (stop tokens excluded), in order, called on the
  // scheduler's thread: keep it short. An exception it throws ends this
  // request with that error and nothing else.
  std::function<void(int32_t id)> on_token;
  // Self-study's teacher, read from the pass that generates: when > 0, the
  // top `record_topk` log-probs of every next-token distribution the request
  // computes from prompt position `record_from` on (one row per prompt token
  // from there, then one per generated token fed back), computed on the
  // device, in ServeResult::topk_*. The last generated token is never fed
  // back, so its row does not exist: callers wanting a row after every kept
  // token ask for one token more and drop it.
  int64_t record_topk = 0;
  int64_t record_from = 0;
  // Sampling by coordinates (self-study): when set and the temperature is
  // above 0, token t is drawn on the device by inverse CDF from
  // softmax(logits / temperature) (float64, ids in order) at u = uniform(t),
  // a pure function of the request's coordinates, instead of by `sampling`'s
  // stateful Sampler. Only the id leaves the device.
  std::function<double(int64_t t)> uniform;
  // Background work (self-study synthesis) yields to live questions: it is
  // never admitted ahead of a queued live request, and never into the slots
  // SchedulerOptions::live_reserve keeps free for them.
  bool background = false;
};

struct ServeResult {
  std::vector<int32_t> tokens;
  FinishReason finish = FinishReason::Length;
  double queued_s = 0;   // from submit to admission
  double total_s = 0;    // from submit to the last token
  // With record_topk = k: rows x k ids and log-probs, row-major.
  int64_t topk_rows = 0;
  std::vector<int32_t> topk_ids;
  std::vector<float> topk_logprobs;
};

// The caller's handle on a submitted request.
class ServeTicket {
 public:
  // Stops the request at the scheduler's next step and frees its KV slot;
  // wait() then throws Cancelled. No effect once it has finished.
  void cancel() { cancel_requested_.store(true); }
  bool cancel_requested() const { return cancel_requested_.load(); }
  // True once finished (with a result or an error).
  bool wait_for(std::chrono::milliseconds timeout);
  // Blocks until finished; returns the result or rethrows its error.
  ServeResult wait();

 private:
  friend class Scheduler;
  void finish(ServeResult result, std::exception_ptr error);

  std::atomic<bool> cancel_requested_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  ServeResult result_;
  std::exception_ptr error_;
};

}  // namespace cdb
