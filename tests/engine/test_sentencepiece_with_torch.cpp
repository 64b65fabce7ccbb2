// libsentencepiece bundles a protobuf that clashes with LibTorch's; a program
// that links both used to crash before main(). This runs in a LibTorch
// program (engine_tests) and uses both.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "common/models_dir.h"
#include "engine/tokenizer/tokenizer.h"

namespace cdb {
namespace {

TEST(SentencePieceWithTorch, LoadsAndEncodesBesideLibTorch) {
  at::Tensor t = at::ones({4});
  auto tok = load_tokenizer(model_file("llama2-tokenizer/tokenizer.model"));
  EXPECT_EQ(tok->kind(), "sentencepiece");
  EXPECT_EQ(tok->encode("Hello world", false), (std::vector<int32_t>{15043, 3186}));
  EXPECT_EQ(tok->decode(tok->encode("Tokens beside tensors: 東京", false)), "Tokens beside tensors: 東京");
  EXPECT_FLOAT_EQ(t.sum().item<float>(), 4.0f);
}

}  // namespace
}  // namespace cdb
