// CompletionHandler: answers one POST /v1/chat/completions or
// /v1/completions through the public API, as the request's user.
//
//  1. EXPLAIN ASK plans it (unknown corpus: 404, no USAGE: 403) and gives
//     the prompt's token count (usage.prompt_tokens) and, with
//     "explain": true, the plan rows.
//  2. Each of the n choices is its own ASK on its own session and thread,
//     so they join the scheduler's batch as separate requests (choice i
//     with seed + i).
//  3. Tokens come back on the engine's thread into a queue; this thread
//     applies the stop sequences, writes SSE chunks or collects the text.
//     A choice whose stop sequence completes, a client that hangs up and a
//     request past its timeout are cancelled through is_cancelled, which
//     frees their batch slots at the next step.
//
// Admission: past HttpOptions::max_queue choices in flight the request gets
// 503 (Retry-After), past max_user_requests of its user 429; neither waits.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include "cartridgedb/cartridgedb.h"
#include "http/completion_request.h"
#include "http/http_options.h"
#include "http/metrics_registry.h"
#include "http/response_stream.h"

namespace cdb::http {

// A complete (not streamed) response.
struct HttpAnswer {
  int status = 200;
  std::string body;  // JSON
  int retry_after_s = 0;
};

class CompletionHandler {
 public:
  using Clock = std::chrono::steady_clock;

  CompletionHandler(cartridgedb::Database& db, const HttpOptions& options, MetricsRegistry& metrics,
                    std::string model_id)
      : db_(db), options_(options), metrics_(metrics), model_id_(std::move(model_id)) {}

  // A streamed request writes to `out` and returns status 200 with an empty
  // body (or an error answer when it failed before the first byte).
  HttpAnswer handle(const CompletionRequest& request, const cartridgedb::SessionIdentity& who, ResponseStream& out,
                    Clock::time_point received);

  const std::string& model_id() const { return model_id_; }
  int64_t in_flight() const { return in_flight_.load(); }

 private:
  HttpAnswer run(const CompletionRequest& request, const cartridgedb::SessionIdentity& who, ResponseStream& out,
                 Clock::time_point received);

  cartridgedb::Database& db_;
  const HttpOptions& options_;
  MetricsRegistry& metrics_;
  std::string model_id_;
  std::atomic<int64_t> in_flight_{0};  // choices
  std::mutex users_mu_;
  std::map<std::string, int> per_user_;  // requests in flight by user
};

}  // namespace cdb::http
