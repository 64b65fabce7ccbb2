// CompletionRequest: the body of POST /v1/chat/completions or
// /v1/completions, checked field by field. parse_completion_request() throws
// HttpError 400 naming the JSON path that is wrong ("messages[2].role",
// "stop[1]"), so a client learns exactly which field to fix; fields it does
// not know are ignored, as OpenAI's SDKs send some that have no meaning here
// (user, logprobs: false, ...).
//
// Messages are rendered into one question text, the way the docs describe
// (docs/http.md, "Messages"): a single user message is the question as it
// is; a conversation is "Role: content" paragraphs ending with
// "Assistant:", which a base model continues and a chat model's template
// then wraps as the user turn (the planner renders it after the Cartridges).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cdb::http {

enum class Endpoint { Chat, Completion };

struct CompletionRequest {
  Endpoint endpoint = Endpoint::Chat;
  std::string model;                  // empty: not given
  std::string question;               // messages rendered, or the prompt
  std::vector<std::string> corpora;   // as ASK ... USING
  std::optional<int64_t> max_tokens;  // max_completion_tokens or max_tokens
  std::optional<double> temperature, top_p;
  std::optional<int64_t> seed;
  std::vector<std::string> stop;      // at most 4, none empty
  int n = 1;                          // 1..8
  bool stream = false;
  bool include_usage = false;         // stream_options.include_usage
  bool explain = false;               // add cartridgedb.plan
};

inline constexpr int kMaxChoices = 8;
inline constexpr size_t kMaxStops = 4;

// Throws HttpError (400) for a body that is not JSON or a field that is wrong.
CompletionRequest parse_completion_request(std::string_view body, Endpoint endpoint);

}  // namespace cdb::http
