// llama2.c checkpoints: legacy and 'ak42' version 1 load to the same model;
// truncated, missing and impossible files give typed errors naming the file.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "common/error.h"
#include "common/models_dir.h"
#include "support/temp_dir.h"
#include "engine/llama2c_loader.h"
#include "engine/load_model.h"
#include "engine/transformer.h"

namespace cdb {
namespace {

namespace fs = std::filesystem;

using cdb::test::TempDir;

std::string read_all(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

void write_all(const fs::path& p, const std::string& bytes) {
  std::ofstream f(p, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

template <typename T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof(v));
}

void put(std::string& out, const at::Tensor& t) {
  at::Tensor c = t.contiguous();
  out.append(reinterpret_cast<const char*>(c.data_ptr<float>()), static_cast<size_t>(c.numel()) * 4);
}

// export.py's version1_export, from a loaded model.
std::string version1_bytes(const LoadedModel& m, bool shared) {
  const ModelConfig& c = m.config;
  std::string out;
  put<uint32_t>(out, 0x616b3432);
  put<int32_t>(out, 1);
  for (int64_t v : {c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.vocab_size, c.max_seq_len})
    put<int32_t>(out, static_cast<int32_t>(v));
  put<uint8_t>(out, shared ? 1 : 0);
  out.resize(256, '\0');
  const auto& w = m.weights;
  for (const auto& l : w.layers) put(out, l.attn_norm);
  for (const auto& l : w.layers) put(out, l.ffn_norm);
  put(out, w.norm);
  put(out, w.tok_embeddings);
  for (auto f : {&LayerWeights::wq, &LayerWeights::wk, &LayerWeights::wv, &LayerWeights::wo, &LayerWeights::w_gate,
                 &LayerWeights::w_down, &LayerWeights::w_up})
    for (const auto& l : w.layers) put(out, l.*f);
  if (!shared) put(out, w.output * 0.5);  // a distinct classifier
  return out;
}

at::Tensor logits_of(LoadedModel m) {
  c10::InferenceMode guard;
  Transformer t(std::move(m));
  KVCache cache = t.new_cache(1, 6);
  return t.forward(at::tensor(std::vector<int64_t>{1, 300, 17, 42, 99, 7}).view({1, 6}), cache);
}

TEST(Llama2cLoader, LegacyHeaderAndZeroCopyWeights) {
  const fs::path path = model_file("stories260K/stories260K.bin");
  LoadedModel m = load_llama2c(path);
  const ModelConfig& c = m.config;
  EXPECT_EQ(c.dim, 64);
  EXPECT_EQ(c.hidden_dim, 172);
  EXPECT_EQ(c.n_layers, 5);
  EXPECT_EQ(c.n_heads, 8);
  EXPECT_EQ(c.n_kv_heads, 4);
  EXPECT_EQ(c.head_dim, 8);
  EXPECT_EQ(c.vocab_size, 512);
  EXPECT_EQ(c.max_seq_len, 512);
  EXPECT_TRUE(c.tied_embeddings);
  EXPECT_EQ(c.rope_style, RopeStyle::Interleaved);
  EXPECT_EQ(c.bos_id, 1);
  EXPECT_EQ(c.eos_ids, std::vector<int64_t>{2});
  EXPECT_TRUE(m.weights.output.is_same(m.weights.tok_embeddings));
  ASSERT_TRUE(m.weights.backing != nullptr);
  // Views into one mapping: the first layer's wq starts right after the
  // embedding table and all five attention norms (llama2.c order).
  const auto* emb = static_cast<const char*>(m.weights.tok_embeddings.data_ptr());
  const auto* wq0 = static_cast<const char*>(m.weights.layers[0].wq.data_ptr());
  EXPECT_EQ(wq0 - emb, (512 * 64 + 5 * 64) * 4);
  // Same weights as the bytes on disk.
  const std::string bytes = read_all(path);
  float first;
  std::memcpy(&first, bytes.data() + 28, 4);
  EXPECT_EQ(m.weights.tok_embeddings[0][0].item<float>(), first);
  EXPECT_EQ(load_model(path).config.n_layers, 5);
}

TEST(Llama2cLoader, Version1EqualsLegacy) {
  TempDir dir;
  LoadedModel legacy = load_llama2c(model_file("stories260K/stories260K.bin"));
  const at::Tensor want = logits_of(legacy);
  write_all(dir.path() / "v1.bin", version1_bytes(legacy, /*shared=*/true));
  LoadedModel v1 = load_llama2c(dir.path() / "v1.bin");
  EXPECT_TRUE(v1.config.tied_embeddings);
  EXPECT_EQ(v1.config.hidden_dim, 172);
  EXPECT_TRUE(at::equal(logits_of(std::move(v1)), want));

  write_all(dir.path() / "v1_untied.bin", version1_bytes(legacy, /*shared=*/false));
  LoadedModel untied = load_llama2c(dir.path() / "v1_untied.bin");
  EXPECT_FALSE(untied.config.tied_embeddings);
  EXPECT_TRUE(at::equal(untied.weights.output, legacy.weights.output * 0.5));
}

TEST(Llama2cLoader, TruncatedFileNamesFileAndSizes) {
  TempDir dir;
  const std::string bytes = read_all(model_file("stories260K/stories260K.bin"));
  const fs::path p = dir.path() / "stories260K.bin";
  write_all(p, bytes.substr(0, bytes.size() - 100));
  try {
    load_llama2c(p);
    FAIL() << "no error";
  } catch (const CorruptData& e) {
    EXPECT_NE(std::string(e.what()).find("stories260K.bin is truncated: expected 1056540 bytes, found 1056440"),
              std::string::npos)
        << e.what();
  }
  write_all(p, bytes.substr(0, 10));
  EXPECT_THROW(load_llama2c(p), CorruptData);
  write_all(p, "");
  EXPECT_THROW(load_llama2c(p), CorruptData);
}

TEST(Llama2cLoader, MissingFileAndImpossibleHeaders) {
  TempDir dir;
  try {
    load_llama2c(dir.path() / "nope.bin");
    FAIL() << "no error";
  } catch (const NotFound& e) {
    EXPECT_NE(std::string(e.what()).find("nope.bin"), std::string::npos);
  }
  EXPECT_THROW(load_model(dir.path() / "nope.bin"), NotFound);

  std::string bytes = read_all(model_file("stories260K/stories260K.bin"));
  const fs::path p = dir.path() / "bad.bin";
  auto with_header_int = [&](int index, int32_t value) {
    std::string b = bytes;
    std::memcpy(b.data() + 4 * index, &value, 4);
    write_all(p, b);
  };
  with_header_int(3, 7);  // n_heads does not divide dim
  try {
    load_llama2c(p);
    FAIL() << "no error";
  } catch (const CorruptData& e) {
    EXPECT_NE(std::string(e.what()).find("bad.bin"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("n_heads"), std::string::npos);
  }
  with_header_int(4, 3);  // n_kv_heads does not divide n_heads
  EXPECT_THROW(load_llama2c(p), CorruptData);
  with_header_int(0, -64);
  EXPECT_THROW(load_llama2c(p), CorruptData);
  with_header_int(2, 1 << 30);  // absurd layer count
  EXPECT_THROW(load_llama2c(p), CorruptData);

  // Quantized version 2 and unknown versions.
  std::string v2;
  put<uint32_t>(v2, 0x616b3432);
  put<int32_t>(v2, 2);
  v2.resize(256, '\0');
  write_all(p, v2);
  EXPECT_THROW(load_llama2c(p), Unsupported);
  std::memset(v2.data() + 4, 9, 1);
  write_all(p, v2);
  EXPECT_THROW(load_llama2c(p), CorruptData);
}

}  // namespace
}  // namespace cdb
