// Chat rendering: Llama 3 against the model's own chat_template run by the
// transformers.js Jinja engine; ChatML against Qwen3's template output
// (transcribed by hand: that Jinja engine cannot parse Qwen3's template).
#include <gtest/gtest.h>

#include <fstream>

#include "common/error.h"
#include "common/models_dir.h"
#include "engine/tokenizer/chat_format.h"
#include "tokenizer/js_reference.h"
#include "support/temp_dir.h"

namespace cdb {
namespace {

using nlohmann::json;

std::vector<std::vector<ChatMessage>> conversations() {
  return {
      {{"user", "Hello!"}},
      {{"system", "You are a helpful assistant."}, {"user", "What is 2+2?"}},
      {{"system", "  padded system  \n"}, {"user", "hi"}, {"assistant", "Hello! How can I help?"}, {"user", "Tell me a joke."}},
      {{"user", "\n\nline one\nline two\t"}, {"assistant", "ok"}, {"user", "\xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\x98\x80"}},
  };
}

TEST(ChatFormat, Llama3MatchesItsTemplate) {
  std::vector<std::vector<ChatMessage>> convs = conversations();
  json chats = json::array();
  for (const auto& c : convs) {
    json m = json::array();
    for (const auto& msg : c) m.push_back({{"role", msg.role}, {"content", msg.content}});
    chats.push_back(m);
  }
  json ref = test::js_reference({{"model", "llama3"}, {"chats", chats}});
  ASSERT_TRUE(ref.is_object()) << "no answer from the JavaScript reference";
  ASSERT_EQ(ref["chats"].size(), convs.size());
  for (size_t i = 0; i < convs.size(); ++i) {
    EXPECT_EQ(render_chat(ChatFormat::Llama3, convs[i], true), ref["chats"][i].get<std::string>()) << "chat #" << i;
  }
}

TEST(ChatFormat, Llama3Literal) {
  std::vector<ChatMessage> m{{"system", "Be brief."}, {"user", " Hi "}};
  EXPECT_EQ(render_chat(ChatFormat::Llama3, m, false),
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>");
  EXPECT_EQ(render_chat(ChatFormat::Llama3, m, true),
            render_chat(ChatFormat::Llama3, m, false) + "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(ChatFormat, ChatMLMatchesQwen3Template) {
  std::vector<ChatMessage> m{{"system", "You are helpful."}, {"user", "hi"}, {"assistant", "Hello!"}, {"user", "Joke?"}};
  EXPECT_EQ(render_chat(ChatFormat::ChatML, m, true),
            "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n"
            "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nJoke?<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(render_chat(ChatFormat::ChatML, {{"user", "hi"}}, false), "<|im_start|>user\nhi<|im_end|>\n");
  // Qwen3: a final assistant turn after the last user turn carries its
  // (empty) reasoning block; earlier turns lose theirs.
  EXPECT_EQ(render_chat(ChatFormat::ChatML, {{"user", "hi"}, {"assistant", "Hey"}}, false),
            "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nHey<|im_end|>\n");
  EXPECT_EQ(render_chat(ChatFormat::ChatML,
                        {{"user", "a"}, {"assistant", "<think>\nplan\n</think>\n\nA"}, {"user", "b"}}, true),
            "<|im_start|>user\na<|im_end|>\n<|im_start|>assistant\nA<|im_end|>\n<|im_start|>user\nb<|im_end|>\n"
            "<|im_start|>assistant\n");
  EXPECT_EQ(render_chat(ChatFormat::ChatML, {{"user", "a"}, {"assistant", "<think>\nplan\n</think>\n\nA"}}, false),
            "<|im_start|>user\na<|im_end|>\n<|im_start|>assistant\n<think>\nplan\n</think>\n\nA<|im_end|>\n");
}

TEST(ChatFormat, PlainAndRoles) {
  EXPECT_EQ(render_chat(ChatFormat::Plain, {{"user", "Once upon a time"}}, true), "Once upon a time");
  EXPECT_EQ(render_chat(ChatFormat::Plain, {{"system", "A"}, {"user", "B"}}, false), "A\nB");
  EXPECT_THROW(render_chat(ChatFormat::ChatML, {{"tool", "x"}}, false), InvalidArgument);
}

TEST(ChatFormat, StopPiecesAndIds) {
  EXPECT_EQ(chat_stop_pieces(ChatFormat::Llama3), (std::vector<std::string>{"<|eot_id|>", "<|end_of_text|>"}));
  EXPECT_EQ(chat_stop_pieces(ChatFormat::ChatML), (std::vector<std::string>{"<|im_end|>", "<|endoftext|>"}));
  EXPECT_TRUE(chat_stop_pieces(ChatFormat::Plain).empty());
  auto llama = load_tokenizer(test::hf_model_dir("llama3"));
  EXPECT_EQ(chat_stop_ids(ChatFormat::Llama3, *llama), (std::vector<int32_t>{128009, 128001}));
  auto qwen = load_tokenizer(test::hf_model_dir("qwen3"));
  EXPECT_EQ(chat_stop_ids(ChatFormat::ChatML, *qwen), (std::vector<int32_t>{151645, 151643}));
  auto tok512 = load_tokenizer(model_file("stories260K/tok512.bin"));
  EXPECT_EQ(chat_stop_ids(ChatFormat::Plain, *tok512), std::vector<int32_t>{2});
}

TEST(ChatFormat, Detection) {
  EXPECT_EQ(detect_chat_format(test::hf_model_dir("llama3")), ChatFormat::Llama3);
  EXPECT_EQ(detect_chat_format(test::hf_model_dir("qwen3")), ChatFormat::ChatML);
  EXPECT_EQ(detect_chat_format(model_file("stories260K/tok512.bin")), ChatFormat::Plain);
  EXPECT_EQ(detect_chat_format(model_file("stories260K")), ChatFormat::Plain);
  test::TempDir tmp("chat");
  auto dir = tmp.path();
  std::ofstream(dir / "config.json") << R"({"model_type": "qwen2"})";
  EXPECT_EQ(detect_chat_format(dir), ChatFormat::ChatML);
  std::ofstream(dir / "config.json") << R"({"model_type": "llama"})";
  EXPECT_EQ(detect_chat_format(dir), ChatFormat::Plain);
  std::ofstream(dir / "tokenizer_config.json") << R"({"chat_template": [{"name": "default", "template": "{{ '<|im_start|>' }}"}]})";
  EXPECT_EQ(detect_chat_format(dir), ChatFormat::ChatML);
  std::ofstream(dir / "tokenizer_config.json") << "{broken";
  EXPECT_THROW(detect_chat_format(dir), CorruptData);
  std::filesystem::remove_all(dir);
  EXPECT_THROW(detect_chat_format(dir), NotFound);
  EXPECT_STREQ(chat_format_name(ChatFormat::Llama3), "llama3");
}

}  // namespace
}  // namespace cdb
