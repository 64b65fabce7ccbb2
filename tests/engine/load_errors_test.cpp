// Loading a damaged or unsupported HF model directory fails with a typed
// error that names the file and, where there is one, the tensor.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "engine/hf_model_loader.h"
#include "engine/load_model.h"
#include "engine/random_model.h"
#include "engine/safetensors_file.h"
#include "engine/safetensors_writer.h"
#include "support/temp_dir.h"

namespace fs = std::filesystem;
using namespace cdb;

namespace {

class LoadErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    ModelConfig cfg = random_model_config("tiny-llama3");
    cfg.weight_dtype = "f32";
    write_random_model(cfg, 11, dir_);
  }

  nlohmann::json config() {
    std::ifstream in(dir_ / "config.json");
    return nlohmann::json::parse(in);
  }
  void set_config(const nlohmann::json& j) { std::ofstream(dir_ / "config.json") << j.dump(); }

  template <class E>
  void expect(const std::vector<std::string>& fragments) {
    try {
      load_hf_model(dir_);
      FAIL() << "loaded without error";
    } catch (const E& e) {
      for (const auto& f : fragments)
        EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << e.what() << "\n  lacks: " << f;
    } catch (const std::exception& e) {
      FAIL() << "wrong error type: " << e.what();
    }
  }

  cdb::test::TempDir tmp_{"le"};
  fs::path dir_ = tmp_.path();
};

TEST_F(LoadErrors, IntactDirectoryLoads) { EXPECT_NO_THROW(load_hf_model(dir_)); }

TEST_F(LoadErrors, MissingDirectoryConfigOrWeights) {
  EXPECT_THROW(load_hf_model(dir_ / "nope"), NotFound);
  EXPECT_THROW(load_model(dir_ / "nope"), NotFound);
  fs::remove(dir_ / "model.safetensors");
  expect<NotFound>({dir_.string(), "model.safetensors"});
  fs::remove(dir_ / "config.json");
  expect<NotFound>({"config.json"});
}

TEST_F(LoadErrors, TruncatedWeights) {
  fs::resize_file(dir_ / "model.safetensors", fs::file_size(dir_ / "model.safetensors") / 2);
  expect<CorruptData>({"model.safetensors", "past the data region"});
}

TEST_F(LoadErrors, BadHeaderLength) {
  {
    std::fstream f(dir_ / "model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    uint64_t len = 1ull << 33;
    f.write(reinterpret_cast<const char*>(&len), 8);
  }
  expect<CorruptData>({"model.safetensors", "header length"});
}

TEST_F(LoadErrors, GarbledHeaderJson) {
  {
    std::fstream f(dir_ / "model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(8);
    f.write("{{{{", 4);
  }
  expect<CorruptData>({"model.safetensors", "JSON"});
}

TEST_F(LoadErrors, BadConfigJson) {
  std::ofstream(dir_ / "config.json") << "{\"architectures\": [";
  expect<CorruptData>({"config.json", "JSON"});
}

TEST_F(LoadErrors, UnsupportedArchitectureListsTheSupportedOnes) {
  auto j = config();
  j["architectures"] = {"GPTNeoXForCausalLM"};
  set_config(j);
  expect<Unsupported>({"config.json", "GPTNeoXForCausalLM", "LlamaForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM"});
}

TEST_F(LoadErrors, ShapeThatDisagreesWithTheConfigNamesTheTensor) {
  auto j = config();
  j["intermediate_size"] = 128;  // written with 160
  set_config(j);
  expect<CorruptData>({"model.safetensors", "model.layers.0.mlp.gate_proj.weight", "[160, 64]", "[128, 64]"});
}

TEST_F(LoadErrors, MissingTensorIsNamed) {
  SafetensorsFile whole(dir_ / "model.safetensors");
  std::vector<std::pair<std::string, at::Tensor>> keep;
  for (const auto& n : whole.names())
    if (n != "model.layers.1.self_attn.k_proj.weight") keep.emplace_back(n, whole.tensor(n).clone());
  save_safetensors(dir_ / "model.safetensors", keep);
  expect<CorruptData>({dir_.string(), "model.layers.1.self_attn.k_proj.weight", "missing"});
}

TEST_F(LoadErrors, MoreLayersInConfigThanInTheFile) {
  auto j = config();
  j["num_hidden_layers"] = 3;
  set_config(j);
  expect<CorruptData>({"model.layers.2.", "missing"});
}

TEST_F(LoadErrors, IntegerWeightsAreUnsupported) {
  SafetensorsFile whole(dir_ / "model.safetensors");
  std::vector<std::pair<std::string, at::Tensor>> ts;
  for (const auto& n : whole.names()) {
    at::Tensor t = whole.tensor(n).clone();
    ts.emplace_back(n, n == "model.norm.weight" ? t.to(at::kInt) : t);
  }
  save_safetensors(dir_ / "model.safetensors", ts);
  expect<Unsupported>({"model.safetensors", "model.norm.weight"});
}

TEST_F(LoadErrors, UntiedConfigWithoutLmHeadLoadsTied) {
  auto j = config();
  j["tie_word_embeddings"] = false;
  set_config(j);
  LoadedModel m = load_hf_model(dir_);
  EXPECT_TRUE(m.config.tied_embeddings);
  EXPECT_EQ(m.weights.output.data_ptr(), m.weights.tok_embeddings.data_ptr());
}

}  // namespace
