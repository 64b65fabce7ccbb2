// Chat templates of the supported model families, rendered natively (no
// Jinja): the text a model's own chat_template produces for plain
// system/user/assistant conversations.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/tokenizer/tokenizer.h"

namespace cdb {

enum class ChatFormat { Plain, Llama3, ChatML };

// From a model directory: tokenizer_config.json's chat_template (by its
// markers), else config.json's model_type (qwen* -> ChatML), else Plain. A
// file (llama2.c checkpoint, tokenizer.bin) -> Plain. NotFound when the path
// does not exist; CorruptData naming the file when its JSON is malformed.
ChatFormat detect_chat_format(const std::filesystem::path& model_path);

const char* chat_format_name(ChatFormat format);  // "plain", "llama3", "chatml"

struct ChatMessage {
  std::string role, content;
};

// Llama3: the Llama 3 Instruct template (BOS, header ids, content trimmed,
// <|eot_id|>). ChatML: Qwen3's template (a trailing assistant turn after the
// last user turn gets its empty <think></think> block, as Qwen3 renders it).
// Plain: the contents joined by "\n" (base models have no template).
// Roles must be system, user or assistant (InvalidArgument otherwise).
std::string render_chat(ChatFormat format, const std::vector<ChatMessage>& messages, bool add_generation_prompt);

// The pieces that end an assistant turn: Llama3 {"<|eot_id|>",
// "<|end_of_text|>"}, ChatML {"<|im_end|>", "<|endoftext|>"}, Plain {}.
std::vector<std::string> chat_stop_pieces(ChatFormat format);

// chat_stop_pieces() present in `tokenizer`, plus its eos_ids(), deduplicated.
std::vector<int32_t> chat_stop_ids(ChatFormat format, const Tokenizer& tokenizer);

}  // namespace cdb
