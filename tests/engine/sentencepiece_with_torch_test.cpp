// libsentencepiece bundles a protobuf that clashes with LibTorch's; a program
// that links both used to crash before main(). This runs in a LibTorch
// program (engine_tests) and uses both.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "engine/tokenizer/tokenizer.h"
#include "support/sentencepiece_model.h"

namespace cdb {
namespace {

TEST(SentencePieceWithTorch, LoadsAndEncodesBesideLibTorch) {
  at::Tensor t = at::ones({4});
  auto tok = load_tokenizer(test::trained_sentencepiece_model());
  EXPECT_EQ(tok->kind(), "sentencepiece");
  EXPECT_EQ(tok->encode("Hello world", false), test::spm_encode_ids(test::trained_sentencepiece_model(), "Hello world"));
  EXPECT_EQ(tok->decode(tok->encode("Tokens beside tensors: 東京", false)), "Tokens beside tensors: 東京");
  EXPECT_FLOAT_EQ(t.sum().item<float>(), 4.0f);
}

// The shim lives in a link-map namespace of its own (dlmopen). glibc has
// room for only about a dozen such namespaces per process, so every
// tokenizer must share one; and calls from many threads at once must work
// across the namespace boundary (the shim's libc has its own TLS).
TEST(SentencePieceWithTorch, ManyTokenizersShareOneLoadAcrossThreads) {
  std::vector<std::unique_ptr<Tokenizer>> toks;
  for (int i = 0; i < 24; ++i) toks.push_back(load_tokenizer(test::trained_sentencepiece_model()));
  std::vector<std::thread> threads;
  std::vector<int> ok(toks.size(), 0);
  for (size_t i = 0; i < toks.size(); ++i) {
    threads.emplace_back([&, i] {
      for (int round = 0; round < 20; ++round) {
        const std::string text = "thread " + std::to_string(i) + " round " + std::to_string(round);
        if (toks[i]->decode(toks[i]->encode(text, false)) == text) ++ok[i];
      }
    });
  }
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < toks.size(); ++i) EXPECT_EQ(ok[i], 20) << "tokenizer " << i;
}

}  // namespace
}  // namespace cdb
