#include "http/completion_handler.h"

#include <condition_variable>
#include <ctime>
#include <deque>
#include <exception>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "http/ask_statement.h"
#include "http/http_error.h"
#include "http/sse_writer.h"
#include "http/stop_matcher.h"

namespace cdb::http {

namespace {

using json = nlohmann::json;

std::string compact(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// The length of the longest prefix of `s` that does not end inside a UTF-8
// sequence: a token may end mid-character, and a chunk must not.
size_t complete_utf8(const std::string& s) {
  size_t i = s.size(), back = 0;
  while (i > 0 && back < 4) {
    const unsigned char c = static_cast<unsigned char>(s[i - 1]);
    ++back;
    if ((c & 0xC0) != 0x80) {  // a lead byte (or ASCII)
      const size_t need = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
      return back >= need ? s.size() : i - 1;
    }
    --i;
  }
  return s.size();
}

std::string new_id(const char* prefix) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  char b[32];
  std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(rng()));
  return std::string(prefix) + b;
}

// What a choice's thread reports to the request's thread.
struct Event {
  enum Kind { Piece, Done, Cancelled, Failed } kind;
  int choice = 0;
  std::string text;     // Piece
  int64_t tokens = 0;   // Done
  std::string finish;   // Done: the engine's finish reason
  std::exception_ptr error;
};

struct Channel {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Event> events;
  void push(Event e) {
    {
      std::lock_guard lock(mu);
      events.push_back(std::move(e));
    }
    cv.notify_one();
  }
  Event pop() {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return !events.empty(); });
    Event e = std::move(events.front());
    events.pop_front();
    return e;
  }
};

struct ChoiceState {
  std::string text;  // what was (or will be) sent
  std::string pending_utf8;
  int64_t pieces = 0;
  std::string finish;  // "stop" / "length" once ended
  bool ended = false;
  std::optional<StopMatcher> stops;
  std::unique_ptr<std::atomic<bool>> stop_hit = std::make_unique<std::atomic<bool>>(false);
  std::chrono::steady_clock::time_point last_piece;
};

class Slots {  // admission counters, released on every path
 public:
  Slots(std::atomic<int64_t>& in_flight, int64_t n, std::mutex& mu, std::map<std::string, int>& per_user,
        std::string user)
      : in_flight_(in_flight), n_(n), mu_(mu), per_user_(per_user), user_(std::move(user)) {}
  ~Slots() {
    in_flight_ -= n_;
    std::lock_guard lock(mu_);
    if (--per_user_[user_] <= 0) per_user_.erase(user_);
  }

 private:
  std::atomic<int64_t>& in_flight_;
  int64_t n_;
  std::mutex& mu_;
  std::map<std::string, int>& per_user_;
  std::string user_;
};

}  // namespace

HttpAnswer CompletionHandler::handle(const CompletionRequest& request, const cartridgedb::SessionIdentity& who,
                                     ResponseStream& out, Clock::time_point received) {
  metrics_.add_in_flight(1);
  struct Done {
    MetricsRegistry& m;
    ~Done() { m.add_in_flight(-1); }
  } done{metrics_};
  try {
    return run(request, who, out, received);
  } catch (const HttpError& e) {
    return {e.status(), error_body(e), e.retry_after_s()};
  } catch (const cartridgedb::Error& e) {
    const HttpError h = from_engine_error(e);
    return {h.status(), error_body(h), h.retry_after_s()};
  }
}

HttpAnswer CompletionHandler::run(const CompletionRequest& req, const cartridgedb::SessionIdentity& who,
                                  ResponseStream& out, Clock::time_point received) {
  const bool chat = req.endpoint == Endpoint::Chat;
  const std::string endpoint = chat ? "chat_completions" : "completions";
  if (!req.model.empty() && req.model != model_id_)
    throw HttpError(404, "invalid_request_error",
                    "the model '" + req.model + "' does not exist; this server serves '" + model_id_ +
                        "' (GET /v1/models)",
                    "model", "model_not_found");

  // Admission before any work: a full server answers at once.
  if (in_flight_.fetch_add(req.n) + req.n > options_.max_queue) {
    in_flight_ -= req.n;
    throw HttpError(503, "server_error",
                    "the server is answering " + std::to_string(options_.max_queue) +
                        " choices already (--http-max-queue); retry after the Retry-After seconds",
                    "", "overloaded");
  }
  {
    std::lock_guard lock(users_mu_);
    int& mine = per_user_[who.user];
    if (mine >= options_.max_user_requests) {
      if (mine == 0) per_user_.erase(who.user);
      in_flight_ -= req.n;
      throw HttpError(429, "rate_limit_error",
                      "user '" + who.user + "' has " + std::to_string(options_.max_user_requests) +
                          " requests in flight, its quota (--http-max-user-requests); retry when one ends",
                      "", "quota_exceeded");
    }
    ++mine;
  }
  Slots slots(in_flight_, req.n, users_mu_, per_user_, who.user);

  // 1. The plan: errors (unknown corpus, no USAGE, too long for the window) before any byte is sent.
  auto planner_session = db_.new_session(who);
  const cartridgedb::Result plan = planner_session->execute(explain_statement(req));
  int64_t prompt_tokens = 0;
  if (!plan.rows.empty()) {
    const auto& q = plan.rows.back();  // the question row: position + tokens = the whole prompt
    prompt_tokens = std::stoll(plan.at(plan.rows.size() - 1, "position")) + std::stoll(plan.at(plan.rows.size() - 1, "tokens"));
    (void)q;
  }
  json plan_json = json::array();
  if (req.explain)
    for (const auto& row : plan.rows) {
      json r = json::object();
      for (size_t c = 0; c < plan.columns.size() && c < row.size(); ++c) r[plan.columns[c]] = row[c];
      plan_json.push_back(std::move(r));
    }

  // 2. The choices, each its own ASK in the batch.
  const auto deadline =
      options_.request_timeout.count() > 0 ? received + options_.request_timeout : Clock::time_point::max();
  std::atomic<bool> abandon{false}, timed_out{false};
  Channel channel;
  std::vector<ChoiceState> choices(static_cast<size_t>(req.n));
  for (auto& c : choices)
    if (!req.stop.empty()) c.stops.emplace(req.stop);
  std::vector<std::thread> threads;
  threads.reserve(choices.size());
  for (int i = 0; i < req.n; ++i) {
    std::atomic<bool>* stop_hit = choices[static_cast<size_t>(i)].stop_hit.get();
    threads.emplace_back([&, i, stop_hit] {
      cartridgedb::Callbacks cb;
      cb.on_token = [&](std::string_view piece) { channel.push({Event::Piece, i, std::string(piece), 0, {}, {}}); };
      cb.is_cancelled = [&, stop_hit] {
        if (abandon.load() || stop_hit->load()) return true;
        if (out.client_gone()) return abandon = true;
        if (Clock::now() > deadline) return timed_out = true;
        return false;
      };
      try {
        auto session = db_.new_session(who);
        const cartridgedb::Result r = session->execute(ask_statement(req, i), cb);
        channel.push({Event::Done, i, {}, std::stoll(r.at(0, "tokens")), r.at(0, "finish"), {}});
      } catch (const cartridgedb::Cancelled&) {
        channel.push({Event::Cancelled, i, {}, 0, {}, std::current_exception()});
      } catch (...) {
        channel.push({Event::Failed, i, {}, 0, {}, std::current_exception()});
      }
    });
  }
  struct Joiner {
    std::vector<std::thread>& t;
    std::atomic<bool>& abandon;
    ~Joiner() {
      abandon = true;  // only matters when leaving early (an exception)
      for (auto& x : t) x.join();
    }
  } joiner{threads, abandon};

  const std::string id = new_id(chat ? "chatcmpl-" : "cmpl-");
  const int64_t created = static_cast<int64_t>(std::time(nullptr));
  auto chunk = [&](json choices_json) {
    json j = {{"id", id}, {"object", chat ? "chat.completion.chunk" : "text_completion"}, {"created", created},
              {"model", model_id_}, {"choices", std::move(choices_json)}};
    if (req.include_usage) j["usage"] = nullptr;
    return j;
  };
  auto delta_choice = [&](int i, const std::string& text, const json& finish) {
    if (chat) return json{{"index", i}, {"delta", {{"content", text}}}, {"logprobs", nullptr}, {"finish_reason", finish}};
    return json{{"index", i}, {"text", text}, {"logprobs", nullptr}, {"finish_reason", finish}};
  };

  // The stream begins with the first thing to send, so that a request that
  // fails before its first token (the queue, a slot that cannot fit it) still
  // gets a real HTTP status rather than an error event after a 200.
  SseWriter sse(out);
  bool begun = false;
  auto begin_stream = [&] {
    if (begun || !req.stream) return;
    begun = true;
    if (!sse.begin()) abandon = true;
    if (chat) {  // OpenAI's first chunk names the role
      json first = json::array();
      for (int i = 0; i < req.n; ++i)
        first.push_back({{"index", i}, {"delta", {{"role", "assistant"}, {"content", ""}}}, {"logprobs", nullptr},
                         {"finish_reason", nullptr}});
      json j = chunk(std::move(first));
      if (req.explain) j["cartridgedb"] = {{"plan", plan_json}};
      if (!sse.event(j)) abandon = true;
    }
  };

  // 3. Tokens as they come.
  bool first_token = true;
  int ended = 0;
  std::optional<HttpError> failure;
  int64_t completion_tokens = 0;
  auto emit = [&](int i, std::string text) {
    ChoiceState& c = choices[static_cast<size_t>(i)];
    c.pending_utf8 += text;
    const size_t ok = c.ended ? c.pending_utf8.size() : complete_utf8(c.pending_utf8);
    text = c.pending_utf8.substr(0, ok);
    c.pending_utf8.erase(0, ok);
    if (text.empty()) return;
    c.text += text;
    begin_stream();
    if (req.stream && !abandon.load() && !sse.event(chunk(json::array({delta_choice(i, text, nullptr)}))))
      abandon = true;
  };
  while (ended < req.n) {
    Event e = channel.pop();
    ChoiceState& c = choices[static_cast<size_t>(e.choice)];
    const auto now = Clock::now();
    switch (e.kind) {
      case Event::Piece: {
        if (first_token) metrics_.observe_time_to_first_token(std::chrono::duration<double>(now - received).count());
        else if (c.pieces > 0) metrics_.observe_inter_token(std::chrono::duration<double>(now - c.last_piece).count());
        first_token = false;
        c.last_piece = now;
        ++c.pieces;
        if (c.stop_hit->load()) break;  // past its stop sequence: dropped
        std::string text = c.stops ? c.stops->feed(e.text) : e.text;
        if (c.stops && c.stops->stopped()) *c.stop_hit = true;  // cancels the ASK at its next step
        emit(e.choice, std::move(text));
        break;
      }
      case Event::Done:
      case Event::Cancelled:
      case Event::Failed: {
        ++ended;
        c.ended = true;
        if (e.kind == Event::Done || c.stop_hit->load()) {
          if (!c.stop_hit->load() && c.stops) emit(e.choice, c.stops->finish());
          emit(e.choice, "");  // what the UTF-8 carry still holds
          c.finish = c.stop_hit->load() || e.finish != "length" ? "stop" : "length";
          const int64_t tokens = e.kind == Event::Done ? e.tokens : c.pieces;
          completion_tokens += tokens;
          begin_stream();
          if (req.stream && !abandon.load() && !sse.event(chunk(json::array({chat ? json{{"index", e.choice},
                                                                                          {"delta", json::object()},
                                                                                          {"logprobs", nullptr},
                                                                                          {"finish_reason", c.finish}}
                                                                                    : delta_choice(e.choice, "", c.finish)}))))
            abandon = true;
          break;
        }
        if (failure) break;
        if (e.kind == Event::Cancelled) {
          if (timed_out.load())
            failure = HttpError(408, "timeout_error",
                                "the answer took longer than the request timeout (--http-request-timeout " +
                                    std::to_string(options_.request_timeout.count() / 1000.0) + " s)",
                                "", "timeout");
          else
            failure = HttpError(499, "server_error", "the client closed the connection", "", "client_closed");
        } else {
          try {
            std::rethrow_exception(e.error);
          } catch (const cartridgedb::Error& err) {
            failure = from_engine_error(err);
          } catch (const std::exception& err) {
            failure = HttpError(500, "server_error", err.what(), "", "internal");
          }
        }
        abandon = true;  // one choice failed: the others stop too
        break;
      }
    }
  }
  metrics_.count_tokens(endpoint, "prompt", prompt_tokens);
  metrics_.count_tokens(endpoint, "completion", completion_tokens);
  const json usage = {{"prompt_tokens", prompt_tokens},
                      {"completion_tokens", completion_tokens},
                      {"total_tokens", prompt_tokens + completion_tokens}};

  if (req.stream && failure && !begun) throw *failure;
  if (req.stream) {
    begin_stream();
    if (failure && failure->status() != 499) sse.event(json::parse(error_body(*failure)));
    if (!failure && req.include_usage) {
      json j = chunk(json::array());
      j["usage"] = usage;
      sse.event(j);
    }
    sse.done();
    // The status for the log and metrics: an error after the headers still counts as one.
    return {failure ? failure->status() : 200, {}, 0};
  }
  if (failure) throw *failure;
  json list = json::array();
  for (int i = 0; i < req.n; ++i) {
    const ChoiceState& c = choices[static_cast<size_t>(i)];
    if (chat)
      list.push_back({{"index", i},
                      {"message", {{"role", "assistant"}, {"content", c.text}, {"refusal", nullptr}}},
                      {"logprobs", nullptr},
                      {"finish_reason", c.finish}});
    else
      list.push_back({{"index", i}, {"text", c.text}, {"logprobs", nullptr}, {"finish_reason", c.finish}});
  }
  json j = {{"id", id}, {"object", chat ? "chat.completion" : "text_completion"}, {"created", created},
            {"model", model_id_}, {"choices", std::move(list)}, {"usage", usage}};
  if (req.explain) j["cartridgedb"] = {{"plan", plan_json}};
  return {200, compact(j), 0};
}

}  // namespace cdb::http
