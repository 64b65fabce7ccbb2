#include "http/completion_request.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "http/http_error.h"

namespace cdb::http {

namespace {

using json = nlohmann::json;

const char* type_name(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::string: return "a string";
    case json::value_t::array: return "an array";
    case json::value_t::object: return "an object";
    case json::value_t::number_float: return "a float";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "an integer";
    default: return "something else";
  }
}

std::optional<int64_t> opt_int(const json& body, const char* key, int64_t lo, int64_t hi) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  // JSON's non-negative integers parse as unsigned: both bounds apply to them too.
  if (it->is_number_unsigned()) {
    const uint64_t u = it->get<uint64_t>();
    if (u > static_cast<uint64_t>(hi) || (lo > 0 && u < static_cast<uint64_t>(lo)))
      throw bad_field(key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    return static_cast<int64_t>(it->get<uint64_t>());
  }
  if (!it->is_number_integer()) throw bad_field(key, std::string("must be an integer, not ") + type_name(*it));
  const int64_t v = it->get<int64_t>();
  if (v < lo || v > hi) throw bad_field(key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
  return v;
}

std::optional<double> opt_number(const json& body, const char* key, double lo, double hi, bool lo_open) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) throw bad_field(key, std::string("must be a number, not ") + type_name(*it));
  const double v = it->get<double>();
  if (!std::isfinite(v) || v > hi || (lo_open ? v <= lo : v < lo))
    throw bad_field(key, std::string("must be in ") + (lo_open ? "(" : "[") + std::to_string(lo) + ", " +
                             std::to_string(hi) + "]");
  return v;
}

bool opt_bool(const json& obj, const char* key, const std::string& path) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return false;
  if (!it->is_boolean()) throw bad_field(path, std::string("must be a boolean, not ") + type_name(*it));
  return it->get<bool>();
}

// A message's content: a string, or an array of {"type": "text", "text": ...} parts.
std::string content_text(const json& c, const std::string& path) {
  if (c.is_string()) return c.get<std::string>();
  if (!c.is_array()) throw bad_field(path, std::string("must be a string or an array of text parts, not ") + type_name(c));
  std::string out;
  for (size_t i = 0; i < c.size(); ++i) {
    const std::string p = path + "[" + std::to_string(i) + "]";
    const json& part = c[i];
    if (!part.is_object()) throw bad_field(p, std::string("must be an object, not ") + type_name(part));
    auto type = part.find("type");
    if (type == part.end() || !type->is_string() || *type != "text")
      throw bad_field(p + ".type", "only \"text\" parts are supported");
    auto text = part.find("text");
    if (text == part.end() || !text->is_string()) throw bad_field(p + ".text", "must be a string");
    out += text->get<std::string>();
  }
  return out;
}

std::string render_messages(const json& body) {
  auto it = body.find("messages");
  if (it == body.end()) throw bad_field("messages", "is required");
  if (!it->is_array()) throw bad_field("messages", std::string("must be an array, not ") + type_name(*it));
  if (it->empty()) throw bad_field("messages", "must hold at least one message");
  if (it->size() > 256) throw bad_field("messages", "holds more than 256 messages");
  struct Turn {
    std::string role, text;
  };
  std::vector<Turn> turns;
  for (size_t i = 0; i < it->size(); ++i) {
    const std::string p = "messages[" + std::to_string(i) + "]";
    const json& m = (*it)[i];
    if (!m.is_object()) throw bad_field(p, std::string("must be an object, not ") + type_name(m));
    auto role = m.find("role");
    if (role == m.end() || !role->is_string()) throw bad_field(p + ".role", "must be a string");
    const std::string r = role->get<std::string>();
    if (r != "system" && r != "developer" && r != "user" && r != "assistant")
      throw bad_field(p + ".role", "must be system, developer, user or assistant, not '" + r + "'");
    auto content = m.find("content");
    if (content == m.end()) throw bad_field(p + ".content", "is required");
    turns.push_back({r, content_text(*content, p + ".content")});
  }
  if (turns.size() == 1 && turns[0].role == "user") return turns[0].text;
  std::string out;
  for (const auto& t : turns) {
    const std::string name = t.role == "user" ? "User" : t.role == "assistant" ? "Assistant" : "System";
    out += name + ": " + t.text + "\n\n";
  }
  return out + "Assistant:";
}

std::string render_prompt(const json& body) {
  auto it = body.find("prompt");
  if (it == body.end()) throw bad_field("prompt", "is required");
  if (it->is_string()) return it->get<std::string>();
  // One prompt in an array is accepted (the SDKs send that form); a batch of
  // prompts is n separate requests, which the client can send itself.
  if (it->is_array() && it->size() == 1 && (*it)[0].is_string()) return (*it)[0].get<std::string>();
  if (it->is_array()) throw bad_field("prompt", "must be a string or an array of exactly one string");
  throw bad_field("prompt", std::string("must be a string, not ") + type_name(*it));
}

}  // namespace

CompletionRequest parse_completion_request(std::string_view text, Endpoint endpoint) {
  json body = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    // Where it broke: parse again with exceptions for the byte position.
    std::string why = "the body is not valid JSON";
    try {
      const json again = json::parse(text);
      (void)again;
    } catch (const json::parse_error& e) {
      why += " (byte " + std::to_string(e.byte) + ")";
    }
    throw HttpError(400, "invalid_request_error", why, "", "invalid_json");
  }
  if (!body.is_object()) throw bad_field("", std::string("the body must be a JSON object, not ") + type_name(body));
  CompletionRequest r;
  r.endpoint = endpoint;
  if (auto it = body.find("model"); it != body.end() && !it->is_null()) {
    if (!it->is_string()) throw bad_field("model", std::string("must be a string, not ") + type_name(*it));
    r.model = it->get<std::string>();
  }
  r.question = endpoint == Endpoint::Chat ? render_messages(body) : render_prompt(body);
  if (r.question.empty()) throw bad_field(endpoint == Endpoint::Chat ? "messages" : "prompt", "is empty");

  auto corpora = body.find("corpora");
  if (corpora == body.end() || corpora->is_null())
    throw bad_field("corpora", "is required: name the corpora to answer from, e.g. \"corpora\": [\"docs\"]");
  if (!corpora->is_array()) throw bad_field("corpora", std::string("must be an array of names, not ") + type_name(*corpora));
  if (corpora->empty()) throw bad_field("corpora", "must name at least one corpus");
  if (corpora->size() > 64) throw bad_field("corpora", "names more than 64 corpora");
  for (size_t i = 0; i < corpora->size(); ++i) {
    const json& c = (*corpora)[i];
    const std::string p = "corpora[" + std::to_string(i) + "]";
    if (!c.is_string()) throw bad_field(p, std::string("must be a string, not ") + type_name(c));
    const std::string name = c.get<std::string>();
    if (name.empty() || name.size() > 256) throw bad_field(p, "must be a name of 1 to 256 bytes");
    if (name.find('\0') != std::string::npos) throw bad_field(p, "must not hold a NUL character");
    r.corpora.push_back(name);
  }

  r.max_tokens = opt_int(body, "max_completion_tokens", 1, 1000000);
  if (!r.max_tokens) r.max_tokens = opt_int(body, "max_tokens", 1, 1000000);
  r.temperature = opt_number(body, "temperature", 0, 2, false);
  r.top_p = opt_number(body, "top_p", 0, 1, true);
  r.seed = opt_int(body, "seed", 0, INT64_MAX / 2);
  r.n = static_cast<int>(opt_int(body, "n", 1, kMaxChoices).value_or(1));
  r.stream = opt_bool(body, "stream", "stream");
  r.explain = opt_bool(body, "explain", "explain");
  if (auto it = body.find("stream_options"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) throw bad_field("stream_options", std::string("must be an object, not ") + type_name(*it));
    r.include_usage = opt_bool(*it, "include_usage", "stream_options.include_usage");
  }
  if (auto it = body.find("stop"); it != body.end() && !it->is_null()) {
    if (it->is_string()) {
      r.stop.push_back(it->get<std::string>());
    } else if (it->is_array()) {
      if (it->size() > kMaxStops) throw bad_field("stop", "holds more than 4 sequences");
      for (size_t i = 0; i < it->size(); ++i) {
        if (!(*it)[i].is_string()) throw bad_field("stop[" + std::to_string(i) + "]", "must be a string");
        r.stop.push_back((*it)[i].get<std::string>());
      }
    } else {
      throw bad_field("stop", std::string("must be a string or an array of strings, not ") + type_name(*it));
    }
    for (size_t i = 0; i < r.stop.size(); ++i)
      if (r.stop[i].empty() || r.stop[i].size() > 256)
        throw bad_field(it->is_string() ? "stop" : "stop[" + std::to_string(i) + "]", "must be 1 to 256 bytes");
  }
  return r;
}

}  // namespace cdb::http
