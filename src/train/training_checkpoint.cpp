#include "train/training_checkpoint.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "storage/blob_store.h"
#include "storage/tensor_codec.h"

namespace cdb {
namespace {

constexpr int kCheckpointVersion = 1;

// Per-layer (or per-tensor) list -> one stacked f32 blob; all tensors of a
// Llama-family cartridge share a shape.
std::string encode_stack(const std::vector<at::Tensor>& ts) {
  at::Tensor s = at::stack(ts).to(at::kCPU, at::kFloat).contiguous();
  std::vector<int64_t> shape(s.sizes().begin(), s.sizes().end());
  return encode_tensor(TensorView{DType::F32, shape, s.data_ptr()}, CodecOptions{.threads = 1});
}

std::vector<at::Tensor> decode_stack(std::string_view blob, const std::string& what) {
  DecodedTensor d = decode_tensor(blob, what, 1);
  if (d.dtype() != DType::F32 || d.shape().empty()) throw CorruptData(what + ": expected a stacked f32 tensor");
  at::Tensor t = at::empty(d.shape(), at::kFloat);
  std::memcpy(t.data_ptr(), d.data(), d.bytes());
  std::vector<at::Tensor> out;
  for (int64_t i = 0; i < t.size(0); ++i) out.push_back(t[i].clone());
  return out;
}

}  // namespace

void save_cartridge(BlobStore& blobs, const std::string& key_prefix, const Cartridge& c) {
  std::string k = encode_stack(c.keys), v = encode_stack(c.values);
  blobs.write([&](BlobStore::WriteTxn& txn) {
    txn.put(key_prefix + "keys", k);
    txn.put(key_prefix + "values", v);
  });
}

std::optional<Cartridge> load_cartridge(const BlobStore& blobs, const std::string& key_prefix) {
  auto txn = blobs.read();
  auto k = txn.get(key_prefix + "keys");
  auto v = txn.get(key_prefix + "values");
  if (!k || !v) return std::nullopt;
  Cartridge c;
  c.keys = decode_stack(*k, key_prefix + "keys");
  c.values = decode_stack(*v, key_prefix + "values");
  if (c.keys.size() != c.values.size()) throw CorruptData(key_prefix + ": keys and values disagree in layers");
  return c;
}

void save_checkpoint(BlobStore& blobs, const std::string& prefix, const TrainingCheckpoint& ckpt) {
  nlohmann::json state = {{"version", kCheckpointVersion}, {"run", ckpt.run_fingerprint},
                          {"step", ckpt.step},           {"adam_steps", ckpt.adam_steps},
                          {"losses", ckpt.losses}};
  std::string b_state = state.dump();
  std::string b_k = encode_stack(ckpt.cartridge.keys), b_v = encode_stack(ckpt.cartridge.values);
  std::string b_m = encode_stack(ckpt.adam_m), b_s = encode_stack(ckpt.adam_v);
  const std::string p = prefix + "ckpt/";
  blobs.write([&](BlobStore::WriteTxn& txn) {
    txn.put(p + "keys", b_k);
    txn.put(p + "values", b_v);
    txn.put(p + "adam_m", b_m);
    txn.put(p + "adam_v", b_s);
    txn.put(p + "state", b_state);
  });
}

std::optional<TrainingCheckpoint> load_checkpoint(const BlobStore& blobs, const std::string& prefix) {
  const std::string p = prefix + "ckpt/";
  auto txn = blobs.read();
  auto st = txn.get(p + "state");
  if (!st) return std::nullopt;
  nlohmann::json state;
  try {
    state = nlohmann::json::parse(*st);
  } catch (const nlohmann::json::exception& e) {
    throw CorruptData(p + "state is not JSON: " + e.what());
  }
  if (state.value("version", 0) != kCheckpointVersion)
    throw Unsupported(p + "state has checkpoint format version " + std::to_string(state.value("version", 0)));
  TrainingCheckpoint c;
  c.run_fingerprint = state.at("run").get<std::string>();
  c.step = state.at("step").get<int64_t>();
  c.adam_steps = state.at("adam_steps").get<int64_t>();
  c.losses = state.at("losses").get<std::vector<double>>();
  c.cartridge.keys = decode_stack(txn.at(p + "keys"), p + "keys");
  c.cartridge.values = decode_stack(txn.at(p + "values"), p + "values");
  c.adam_m = decode_stack(txn.at(p + "adam_m"), p + "adam_m");
  c.adam_v = decode_stack(txn.at(p + "adam_v"), p + "adam_v");
  return c;
}

}  // namespace cdb
