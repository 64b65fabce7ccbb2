#include "engine/tokenizer/chat_format.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "common/error.h"
#include "engine/tokenizer/fingerprint.h"

namespace cdb {

namespace {

using nlohmann::json;

json read_json(const std::filesystem::path& path) {
  try {
    return json::parse(read_file_bytes(path));
  } catch (const json::exception& e) {
    throw CorruptData(path.string() + " is not valid JSON: " + e.what());
  }
}

// chat_template is a string, or a list of {name, template} (pick "default").
std::string chat_template_of(const json& config) {
  if (!config.is_object() || !config.contains("chat_template")) return {};
  const json& t = config["chat_template"];
  if (t.is_string()) return t.get<std::string>();
  if (t.is_array()) {
    std::string first;
    for (const json& e : t) {
      if (!e.is_object() || !e.contains("template") || !e["template"].is_string()) continue;
      if (first.empty()) first = e["template"].get<std::string>();
      if (e.value("name", "") == "default") return e["template"].get<std::string>();
    }
    return first;
  }
  return {};
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool ends_with(std::string_view s, std::string_view p) { return s.size() >= p.size() && s.substr(s.size() - p.size()) == p; }

// Jinja's trim (Python str.strip()), ASCII whitespace.
std::string_view trim(std::string_view s) {
  constexpr std::string_view ws = " \t\n\r\v\f";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}
std::string_view lstrip_newlines(std::string_view s) {
  while (!s.empty() && s.front() == '\n') s.remove_prefix(1);
  return s;
}
std::string_view rstrip_newlines(std::string_view s) {
  while (!s.empty() && s.back() == '\n') s.remove_suffix(1);
  return s;
}

void check_roles(const std::vector<ChatMessage>& messages) {
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string& r = messages[i].role;
    if (r != "system" && r != "user" && r != "assistant") {
      throw InvalidArgument("chat message " + std::to_string(i) + " has role \"" + r +
                            "\"; expected system, user or assistant");
    }
  }
}

std::string render_llama3(const std::vector<ChatMessage>& messages, bool add_generation_prompt) {
  std::string out;
  for (size_t i = 0; i < messages.size(); ++i) {
    if (i == 0) out += "<|begin_of_text|>";
    out += "<|start_header_id|>" + messages[i].role + "<|end_header_id|>\n\n";
    out += trim(messages[i].content);
    out += "<|eot_id|>";
  }
  if (add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return out;
}

std::string render_chatml(const std::vector<ChatMessage>& messages, bool add_generation_prompt) {
  std::string out;
  const size_t n = messages.size();
  if (n > 0 && messages[0].role == "system") out += "<|im_start|>system\n" + messages[0].content + "<|im_end|>\n";
  // The last user turn that is not a tool response: assistant turns after it
  // keep their reasoning block.
  size_t last_query = n == 0 ? 0 : n - 1;
  for (size_t k = n; k-- > 0;) {
    const std::string& c = messages[k].content;
    if (messages[k].role == "user" && !(starts_with(c, "<tool_response>") && ends_with(c, "</tool_response>"))) {
      last_query = k;
      break;
    }
  }
  for (size_t i = 0; i < n; ++i) {
    const ChatMessage& m = messages[i];
    if (m.role == "user" || (m.role == "system" && i != 0)) {
      out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
    } else if (m.role == "assistant") {
      std::string_view content = m.content;
      std::string_view reasoning;
      constexpr std::string_view kEnd = "</think>", kBegin = "<think>";
      if (m.content.find(kEnd) != std::string::npos) {
        std::string_view all = m.content;
        content = lstrip_newlines(all.substr(all.rfind(kEnd) + kEnd.size()));
        std::string_view before = rstrip_newlines(all.substr(0, all.find(kEnd)));
        size_t open = before.rfind(kBegin);
        if (open != std::string_view::npos) before = before.substr(open + kBegin.size());
        reasoning = lstrip_newlines(before);
      }
      if (i > last_query && (i + 1 == n || !reasoning.empty())) {
        out += "<|im_start|>assistant\n<think>\n";
        out += rstrip_newlines(lstrip_newlines(reasoning));
        out += "\n</think>\n\n";
        out += lstrip_newlines(content);
      } else {
        out += "<|im_start|>assistant\n";
        out += content;
      }
      out += "<|im_end|>\n";
    }
  }
  if (add_generation_prompt) out += "<|im_start|>assistant\n";
  return out;
}

std::string render_plain(const std::vector<ChatMessage>& messages) {
  std::string out;
  for (size_t i = 0; i < messages.size(); ++i) {
    if (i > 0) out += '\n';
    out += messages[i].content;
  }
  return out;
}

}  // namespace

ChatFormat detect_chat_format(const std::filesystem::path& model_path) {
  std::error_code ec;
  if (!std::filesystem::exists(model_path, ec)) throw NotFound("model path not found: " + model_path.string());
  if (!std::filesystem::is_directory(model_path, ec)) return ChatFormat::Plain;
  auto tc = model_path / "tokenizer_config.json";
  if (std::filesystem::is_regular_file(tc, ec)) {
    std::string tmpl = chat_template_of(read_json(tc));
    if (tmpl.find("<|start_header_id|>") != std::string::npos) return ChatFormat::Llama3;
    if (tmpl.find("<|im_start|>") != std::string::npos) return ChatFormat::ChatML;
  }
  auto cfg = model_path / "config.json";
  if (std::filesystem::is_regular_file(cfg, ec)) {
    json config = read_json(cfg);
    std::string type = config.is_object() ? config.value("model_type", "") : "";
    if (starts_with(type, "qwen")) return ChatFormat::ChatML;
  }
  return ChatFormat::Plain;
}

const char* chat_format_name(ChatFormat format) {
  switch (format) {
    case ChatFormat::Llama3:
      return "llama3";
    case ChatFormat::ChatML:
      return "chatml";
    case ChatFormat::Plain:
      break;
  }
  return "plain";
}

std::string render_chat(ChatFormat format, const std::vector<ChatMessage>& messages, bool add_generation_prompt) {
  check_roles(messages);
  switch (format) {
    case ChatFormat::Llama3:
      return render_llama3(messages, add_generation_prompt);
    case ChatFormat::ChatML:
      return render_chatml(messages, add_generation_prompt);
    case ChatFormat::Plain:
      break;
  }
  return render_plain(messages);
}

std::vector<std::string> chat_stop_pieces(ChatFormat format) {
  switch (format) {
    case ChatFormat::Llama3:
      return {"<|eot_id|>", "<|end_of_text|>"};
    case ChatFormat::ChatML:
      return {"<|im_end|>", "<|endoftext|>"};
    case ChatFormat::Plain:
      break;
  }
  return {};
}

std::vector<int32_t> chat_stop_ids(ChatFormat format, const Tokenizer& tokenizer) {
  std::vector<int32_t> ids;
  auto add = [&](int32_t id) {
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  };
  for (const std::string& piece : chat_stop_pieces(format)) {
    if (auto id = tokenizer.token_id(piece)) add(*id);
  }
  for (int32_t id : tokenizer.eos_ids()) add(id);
  return ids;
}

}  // namespace cdb
