#include "scheduler/scheduler.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "common/error.h"

namespace cdb {

struct Scheduler::Active {
  explicit Active(const SamplingParams& sampling) : sampler(sampling) {}
  std::shared_ptr<ServeTicket> ticket;
  ServeRequest request;
  Sampler sampler;
  std::vector<int32_t> stop;
  int64_t length = 0;         // tokens in its slot (a private prefix included)
  int64_t shared_tokens = 0;  // tokens of the shared Cartridge before them
  int32_t next = 0;           // the token the next decode step feeds
  ServeResult result;
  Clock::time_point submitted;
  bool done = false;
};

namespace {

int64_t default_slot_tokens(const ModelConfig& c) {
  return c.max_seq_len > 0 ? std::min<int64_t>(c.max_seq_len, 4096) : 4096;
}

int64_t slot_count(const ModelConfig& c, const SchedulerOptions& o, at::ScalarType dtype) {
  const int64_t tokens = o.slot_tokens > 0 ? o.slot_tokens : default_slot_tokens(c);
  const int64_t bytes = KVSlots::slot_bytes(c, tokens, dtype);
  const int64_t n = std::min(o.max_batch, o.kv_budget_bytes / bytes);
  if (n < 1)
    throw ResourceExhausted("the KV budget of " + std::to_string(o.kv_budget_bytes) + " bytes holds no request slot of " +
                            std::to_string(tokens) + " tokens (" + std::to_string(bytes) +
                            " bytes); raise the budget or lower the slot size");
  return n;
}

double seconds(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

// The next token of each row of logits [N, vocab] (on the model's device).
// Greedy rows take the argmax where the logits are, so that a large greedy
// batch copies N ids to the host rather than N x vocab floats; rows sampled
// by coordinates draw on the device too (one uniform each goes in); rows
// with a stateful Sampler copy their logits for it.
template <typename ActiveOf>
std::vector<int32_t> pick_tokens(const at::Tensor& logits, int64_t n, ActiveOf active_of) {
  std::vector<int32_t> ids(static_cast<size_t>(n));
  std::vector<int64_t> sampled, by_coordinates;
  for (int64_t i = 0; i < n; ++i) {
    auto& a = active_of(i);
    if (a.sampler.greedy()) continue;
    (a.request.uniform ? by_coordinates : sampled).push_back(i);
  }
  if (static_cast<int64_t>(sampled.size() + by_coordinates.size()) < n) {
    at::Tensor best = logits.argmax(-1).to(at::kCPU, at::kLong).contiguous();
    for (int64_t i = 0; i < n; ++i) ids[static_cast<size_t>(i)] = static_cast<int32_t>(best.data_ptr<int64_t>()[i]);
  }
  if (!by_coordinates.empty()) {
    const auto m = static_cast<int64_t>(by_coordinates.size());
    std::vector<double> temperature, u;
    for (int64_t i : by_coordinates) {
      auto& a = active_of(i);
      temperature.push_back(a.request.sampling.temperature);
      u.push_back(a.request.uniform(static_cast<int64_t>(a.result.tokens.size())));
    }
    const auto dev = at::TensorOptions().device(logits.device()).dtype(at::kDouble);
    at::Tensor rows = logits.index_select(0, at::tensor(by_coordinates, at::kLong).to(logits.device())).to(at::kDouble);
    rows = (rows - std::get<0>(rows.max(-1, true))) / at::tensor(temperature, at::kDouble).to(dev).view({m, 1});
    at::Tensor cdf = rows.exp().cumsum(-1);
    at::Tensor target = at::tensor(u, at::kDouble).to(dev).view({m, 1}) * cdf.narrow(-1, cdf.size(-1) - 1, 1);
    at::Tensor picked = (cdf <= target).sum(-1).clamp_max(logits.size(-1) - 1).to(at::kCPU, at::kLong).contiguous();
    for (int64_t j = 0; j < m; ++j)
      ids[static_cast<size_t>(by_coordinates[static_cast<size_t>(j)])] = static_cast<int32_t>(picked.data_ptr<int64_t>()[j]);
  }
  if (!sampled.empty()) {
    at::Tensor rows = logits.index_select(0, at::tensor(sampled, at::kLong).to(logits.device()))
                          .to(at::kCPU, at::kFloat)
                          .contiguous();
    const int64_t vocab = rows.size(1);
    for (size_t j = 0; j < sampled.size(); ++j)
      ids[static_cast<size_t>(sampled[j])] =
          active_of(sampled[j]).sampler.sample(rows.data_ptr<float>() + static_cast<int64_t>(j) * vocab, vocab);
  }
  return ids;
}

}  // namespace

Scheduler::Scheduler(Transformer& model, SchedulerOptions options)
    : model_(model),
      options_([&] {
        if (options.slot_tokens <= 0) options.slot_tokens = default_slot_tokens(model.config());
        return options;
      }()),
      slots_(model.config(), slot_count(model.config(), options_, model.dtype()), options_.slot_tokens,
             model.options()),
      graphs_(model, options_.cuda_graphs),
      slot_bytes_(KVSlots::slot_bytes(model.config(), options_.slot_tokens, model.dtype())) {
  stats_.slots = slots_.slots();
  stats_.slot_tokens = slots_.capacity();
  stats_.slot_bytes = slot_bytes_;
  thread_ = std::thread([this] { loop(); });
}

Scheduler::~Scheduler() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  // The loop has failed what it ran; what is still queued never started.
  for (auto& p : queue_)
    p.ticket->finish({}, std::make_exception_ptr(Cancelled("the engine is shutting down")));
}

void Scheduler::check(const ServeRequest& request) const {
  if (request.prompt.empty()) throw InvalidArgument("a request needs a non-empty prompt");
  if (request.max_tokens < 1) throw InvalidArgument("max_tokens must be at least 1");
  if (request.record_topk < 0 || request.record_from < 0 ||
      request.record_from > static_cast<int64_t>(request.prompt.size()))
    throw InvalidArgument("record_topk must be >= 0 and record_from within the prompt");
  const int64_t vocab = model_.config().vocab_size;
  if (request.record_topk > vocab)
    throw InvalidArgument("record_topk " + std::to_string(request.record_topk) + " exceeds the vocabulary of " +
                          std::to_string(vocab));
  for (int32_t t : request.prompt)
    if (t < 0 || t >= vocab)
      throw InvalidArgument("prompt token " + std::to_string(t) + " outside the vocabulary [0, " +
                            std::to_string(vocab) + ")");
  const int64_t own_prefix = request.prefix && !request.share_prefix ? request.prefix->tokens() : 0;
  const int64_t need = own_prefix + static_cast<int64_t>(request.prompt.size()) + request.max_tokens;
  if (need > slots_.capacity())
    throw ResourceExhausted("the request needs " + std::to_string(need) + " tokens of KV (prompt " +
                            std::to_string(request.prompt.size()) + " + answer " +
                            std::to_string(request.max_tokens) +
                            (own_prefix ? " + private Cartridge " + std::to_string(own_prefix) : std::string()) +
                            ") but a request slot holds " + std::to_string(slots_.capacity()) +
                            "; shorten the question or the answer, or raise the slot size");
}

std::shared_ptr<ServeTicket> Scheduler::submit(ServeRequest request) {
  std::vector<ServeRequest> one;
  one.push_back(std::move(request));
  return submit_all(std::move(one)).front();
}

std::vector<std::shared_ptr<ServeTicket>> Scheduler::submit_all(std::vector<ServeRequest> requests) {
  for (const auto& r : requests) check(r);
  std::vector<std::shared_ptr<ServeTicket>> tickets;
  {
    std::lock_guard lock(mu_);
    if (stopping_) throw Cancelled("the engine is shutting down");
    const auto now = Clock::now();
    for (auto& r : requests) {
      tickets.push_back(std::make_shared<ServeTicket>());
      queue_.push_back({tickets.back(), std::move(r), now});
    }
    stats_.queued = static_cast<int64_t>(queue_.size());
  }
  wake_.notify_all();
  return tickets;
}

int64_t Scheduler::background_slots() const {
  const int64_t n = slots_.slots();
  if (n < 2) return n;
  const auto reserve = static_cast<int64_t>(std::ceil(options_.live_reserve * static_cast<double>(n)));
  return std::clamp<int64_t>(n - reserve, 1, n - 1);
}

int64_t Scheduler::background_running() const {
  int64_t n = 0;
  for (const auto& r : running_) n += r->request.background ? 1 : 0;
  return n;
}

void Scheduler::take_admissible(std::vector<Pending>& admitted) {
  // Live requests in strict FIFO order (the head waits for a slot rather
  // than being overtaken); background ones only when no live one waits,
  // and only up to background_slots().
  int64_t budget = options_.prefill_tokens_per_step;
  int64_t busy = static_cast<int64_t>(running_.size());
  int64_t background = background_running();
  bool live_waiting = false;
  for (auto it = queue_.begin(); it != queue_.end();) {
    const int64_t len = static_cast<int64_t>(it->request.prompt.size());
    const bool fits = busy < slots_.slots() && (admitted.empty() || len <= budget);
    if (!it->request.background) {
      if (!fits) {
        live_waiting = true;
        break;
      }
    } else if (live_waiting || !fits || background >= background_slots()) {
      ++it;
      continue;
    } else {
      ++background;
    }
    budget -= len;
    ++busy;
    admitted.push_back(std::move(*it));
    it = queue_.erase(it);
  }
}

Scheduler::Stats Scheduler::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void Scheduler::loop() {
  c10::InferenceMode inference;
  for (;;) {
    std::vector<Pending> admitted, failed;
    {
      std::unique_lock lock(mu_);
      wake_.wait_for(lock, std::chrono::milliseconds(running_.empty() ? 100 : 0),
                     [&] { return stopping_ || !queue_.empty() || !running_.empty(); });
      if (stopping_) break;
      drop_cancelled_and_expired(failed);
      take_admissible(admitted);
      stats_.queued = static_cast<int64_t>(queue_.size());
    }
    for (auto& p : failed) p.ticket->finish({}, std::make_exception_ptr(ResourceExhausted(
                                                    "waited " + std::to_string(static_cast<int>(options_.max_queue_wait_s)) +
                                                    " s for a free KV slot (all " + std::to_string(slots_.slots()) +
                                                    " busy); try again later or raise the KV budget")));
    for (auto& r : running_)
      if (r->ticket->cancel_requested()) {
        r->done = true;
        r->ticket->finish({}, std::make_exception_ptr(Cancelled("the request was cancelled")));
      }
    remove_finished();
    for (auto& p : admitted) admit_one(std::move(p));
    remove_finished();
    if (!running_.empty()) decode_step();
    remove_finished();
    const int64_t background = background_running();
    std::lock_guard lock(mu_);
    stats_.running = static_cast<int64_t>(running_.size());
    stats_.background_running = background;
  }
  for (auto& r : running_)
    if (!r->done) r->ticket->finish({}, std::make_exception_ptr(Cancelled("the engine is shutting down")));
  running_.clear();
}

void Scheduler::drop_cancelled_and_expired(std::vector<Pending>& failed) {
  const auto now = Clock::now();
  for (auto it = queue_.begin(); it != queue_.end();) {
    if (it->ticket->cancel_requested()) {
      it->ticket->finish({}, std::make_exception_ptr(Cancelled("the request was cancelled before it started")));
      it = queue_.erase(it);
    } else if (!it->request.background && seconds(now - it->submitted) > options_.max_queue_wait_s) {
      // (Background work waits for live questions by design; its submitter
      // bounds how much of it is queued.)
      failed.push_back(std::move(*it));
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
}

void Scheduler::admit_one(Pending p) {
  const size_t row = running_.size();
  auto a = std::make_unique<Active>(p.request.sampling);
  a->ticket = p.ticket;
  a->request = std::move(p.request);
  a->submitted = p.submitted;
  a->result.queued_s = seconds(Clock::now() - p.submitted);
  a->stop = a->request.stop_tokens;
  if (a->request.stop_at_eos)
    for (int64_t e : model_.config().eos_ids) a->stop.push_back(static_cast<int32_t>(e));
  running_.push_back(std::move(a));
  Active& r = *running_.back();
  try {
    const Cartridge* shared = nullptr;
    if (r.request.prefix && !r.request.prefix->empty()) {
      if (r.request.share_prefix) {
        shared = r.request.prefix.get();
        r.shared_tokens = shared->tokens();
      } else {
        r.length = slots_.write_prefix(static_cast<int64_t>(row), *r.request.prefix);
      }
    }
    const auto& prompt = r.request.prompt;
    const int64_t T = static_cast<int64_t>(prompt.size());
    at::Tensor tokens = at::tensor(std::vector<int64_t>(prompt.begin(), prompt.end()), at::kLong).view({1, T});
    KVCache cache = slots_.cache(static_cast<int64_t>(row), r.length);
    const int64_t rec = r.request.record_topk > 0 ? T - r.request.record_from : 0;
    at::Tensor logits = model_.forward(tokens, cache, shared, /*last_only=*/rec <= 1);
    if (rec > 0) record(r, logits[0].narrow(0, logits.size(1) - rec, rec));
    logits = logits.select(1, logits.size(1) - 1);
    r.length += T;
    {
      std::lock_guard lock(mu_);
      stats_.prefilled_tokens += T;
    }
    const auto ids = pick_tokens(logits.view({1, -1}), 1, [&](int64_t) -> Active& { return r; });
    take_token(row, ids[0]);
  } catch (...) {
    finish(row, std::current_exception());
  }
}

void Scheduler::decode_step() {
  const int64_t N = static_cast<int64_t>(running_.size());
  std::vector<int64_t> tokens(N), lengths(N), positions(N);
  std::map<const Cartridge*, std::vector<int64_t>> groups;
  int64_t max_length = 0;
  for (int64_t i = 0; i < N; ++i) {
    const Active& r = *running_[static_cast<size_t>(i)];
    tokens[i] = r.next;
    lengths[i] = r.length;
    positions[i] = r.shared_tokens + r.length;
    max_length = std::max(max_length, r.length);
    if (r.shared_tokens > 0) groups[r.request.prefix.get()].push_back(i);
  }
  DecodeBatch b;
  b.tokens = at::tensor(tokens, at::kLong);
  b.lengths = at::tensor(lengths, at::kLong);
  b.positions = at::tensor(positions, at::kLong);
  b.max_length = max_length;
  for (auto& [cart, rows] : groups) b.shared.push_back({cart, at::tensor(rows, at::kLong)});
  std::vector<int32_t> ids;
  const int64_t background = background_running();
  try {
    at::Tensor logits = graphs_.decode(b, slots_);
    for (int64_t i = 0; i < N; ++i) {
      Active& r = *running_[static_cast<size_t>(i)];
      if (r.request.record_topk > 0) record(r, logits.narrow(0, i, 1));
    }
    ids = pick_tokens(logits, N, [&](int64_t i) -> Active& { return *running_[static_cast<size_t>(i)]; });
  } catch (...) {
    // A failed step (out of device memory, say) ends this batch's requests,
    // not the engine.
    for (size_t i = 0; i < running_.size(); ++i) finish(i, std::current_exception());
    return;
  }
  for (int64_t i = 0; i < N; ++i) {
    running_[static_cast<size_t>(i)]->length += 1;
    take_token(static_cast<size_t>(i), ids[static_cast<size_t>(i)]);
  }
  std::lock_guard lock(mu_);
  stats_.steps += 1;
  stats_.decoded_tokens += N;
  stats_.background_tokens += background;
  stats_.largest_batch = std::max(stats_.largest_batch, N);
  stats_.graph_replays = graphs_.stats().replays;
}

void Scheduler::record(Active& r, const at::Tensor& logits) {
  // Only k ids and log-probs per row leave the device.
  auto [vals, idx] = at::log_softmax(logits.to(at::kFloat), -1).topk(r.request.record_topk, -1);
  vals = vals.to(at::kCPU).contiguous();
  idx = idx.to(at::kCPU, at::kInt).contiguous();
  auto& res = r.result;
  res.topk_ids.insert(res.topk_ids.end(), idx.data_ptr<int32_t>(), idx.data_ptr<int32_t>() + idx.numel());
  res.topk_logprobs.insert(res.topk_logprobs.end(), vals.data_ptr<float>(), vals.data_ptr<float>() + vals.numel());
  res.topk_rows += logits.size(0);
}

bool Scheduler::take_token(size_t row, int32_t id) {
  Active& r = *running_[row];
  if (std::find(r.stop.begin(), r.stop.end(), id) != r.stop.end()) {
    r.result.finish = FinishReason::StopToken;
    finish(row, nullptr);
    return true;
  }
  r.result.tokens.push_back(id);
  if (r.request.on_token) {
    try {
      r.request.on_token(id);
    } catch (...) {
      finish(row, std::current_exception());
      return true;
    }
  }
  if (static_cast<int64_t>(r.result.tokens.size()) >= r.request.max_tokens) {
    r.result.finish = FinishReason::Length;
    finish(row, nullptr);
    return true;
  }
  r.next = id;
  return false;
}

void Scheduler::finish(size_t row, std::exception_ptr error) {
  Active& r = *running_[row];
  if (r.done) return;
  r.done = true;
  r.result.total_s = seconds(Clock::now() - r.submitted);
  r.ticket->finish(error ? ServeResult{} : std::move(r.result), error);
}

void Scheduler::remove_finished() {
  // Compaction: the last running row moves into each hole, so rows 0..N-1
  // stay dense and the next step reads them as one view.
  for (size_t i = running_.size(); i-- > 0;) {
    if (!running_[i]->done) continue;
    const size_t last = running_.size() - 1;
    if (i != last) {
      slots_.move(static_cast<int64_t>(last), static_cast<int64_t>(i), running_[last]->length);
      running_[i] = std::move(running_[last]);
    }
    running_.pop_back();
  }
}

}  // namespace cdb
