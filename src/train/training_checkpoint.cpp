#include "train/training_checkpoint.h"

#include <ATen/ATen.h>
#include <cstring>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "storage/artifact_store.h"
#include "train/stored_meta.h"

namespace cdb {
namespace {

constexpr int kCheckpointVersion = 1;

// Per-layer (or per-tensor) list -> one stacked f32 tensor; all tensors of
// a Llama-family cartridge share a shape.
at::Tensor stack_f32(const std::vector<at::Tensor>& ts) { return at::stack(ts).to(at::kCPU, at::kFloat).contiguous(); }

NamedTensor view(const char* name, const at::Tensor& t) {
  return {name, TensorView{DType::F32, std::vector<int64_t>(t.sizes().begin(), t.sizes().end()), t.data_ptr()}};
}

std::vector<at::Tensor> unstack(const ArtifactSet& set, std::string_view name, const std::string& what) {
  const DecodedTensor& d = set.at(name, what);
  if (d.dtype() != DType::F32 || d.shape().empty())
    throw CorruptData(what + "/" + std::string(name) + ": expected a stacked f32 tensor");
  at::Tensor t = at::empty(d.shape(), at::kFloat);
  std::memcpy(t.data_ptr(), d.data(), d.bytes());
  std::vector<at::Tensor> out;
  for (int64_t i = 0; i < t.size(0); ++i) out.push_back(t[i].clone());
  return out;
}

}  // namespace

void save_checkpoint(ArtifactStore& store, const std::string& prefix, const TrainingCheckpoint& ckpt) {
  nlohmann::json state = {{"version", kCheckpointVersion}, {"run", ckpt.run_fingerprint},
                          {"step", ckpt.step},           {"adam_steps", ckpt.adam_steps},
                          {"losses", ckpt.losses}};
  // Kept alive until put() has encoded them: the views point into them.
  at::Tensor k = stack_f32(ckpt.cartridge.keys), v = stack_f32(ckpt.cartridge.values);
  at::Tensor m = stack_f32(ckpt.adam_m), s = stack_f32(ckpt.adam_v);
  store.put(prefix + "ckpt", {view("keys", k), view("values", v), view("adam_m", m), view("adam_v", s)},
            state.dump());
}

std::optional<TrainingCheckpoint> load_checkpoint(const ArtifactStore& store, const std::string& prefix) {
  const std::string what = "checkpoint " + prefix + "ckpt";
  std::optional<ArtifactSet> set = store.get(prefix + "ckpt");
  if (!set) return std::nullopt;
  const nlohmann::json state = stored_meta(*set, what, kCheckpointVersion);
  TrainingCheckpoint c;
  try {
    c.run_fingerprint = state.at("run").get<std::string>();
    c.step = state.at("step").get<int64_t>();
    c.adam_steps = state.at("adam_steps").get<int64_t>();
    c.losses = state.at("losses").get<std::vector<double>>();
  } catch (const nlohmann::json::exception& e) {
    throw CorruptData(what + ": its state lacks a field or has one of the wrong type: " + e.what());
  }
  c.cartridge.keys = unstack(*set, "keys", what);
  c.cartridge.values = unstack(*set, "values", what);
  c.adam_m = unstack(*set, "adam_m", what);
  c.adam_v = unstack(*set, "adam_v", what);
  return c;
}

}  // namespace cdb
