#include "engine/hf_model_loader.h"

#include <ATen/ATen.h>

#include "common/error.h"
#include "engine/hf_config.h"
#include "engine/safetensors_checkpoint.h"

namespace cdb {

namespace fs = std::filesystem;

namespace {

std::string layer_prefix(int64_t l) { return "model.layers." + std::to_string(l) + "."; }

std::string dtype_label(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "f32";
    case at::kBFloat16: return "bf16";
    case at::kHalf: return "f16";
    default: return c10::toString(t);
  }
}

}  // namespace

std::vector<SafetensorsSpec> hf_tensor_layout(const ModelConfig& c, at::ScalarType dtype) {
  const int64_t q = c.n_heads * c.head_dim, kv = c.n_kv_heads * c.head_dim;
  std::vector<SafetensorsSpec> out;
  out.push_back({"model.embed_tokens.weight", dtype, {c.vocab_size, c.dim}});
  for (int64_t l = 0; l < c.n_layers; ++l) {
    const std::string p = layer_prefix(l);
    out.push_back({p + "input_layernorm.weight", dtype, {c.dim}});
    out.push_back({p + "self_attn.q_proj.weight", dtype, {q, c.dim}});
    out.push_back({p + "self_attn.k_proj.weight", dtype, {kv, c.dim}});
    out.push_back({p + "self_attn.v_proj.weight", dtype, {kv, c.dim}});
    if (c.qkv_bias) {
      out.push_back({p + "self_attn.q_proj.bias", dtype, {q}});
      out.push_back({p + "self_attn.k_proj.bias", dtype, {kv}});
      out.push_back({p + "self_attn.v_proj.bias", dtype, {kv}});
    }
    if (c.qk_norm) {
      out.push_back({p + "self_attn.q_norm.weight", dtype, {c.head_dim}});
      out.push_back({p + "self_attn.k_norm.weight", dtype, {c.head_dim}});
    }
    out.push_back({p + "self_attn.o_proj.weight", dtype, {c.dim, q}});
    out.push_back({p + "post_attention_layernorm.weight", dtype, {c.dim}});
    out.push_back({p + "mlp.gate_proj.weight", dtype, {c.hidden_dim, c.dim}});
    out.push_back({p + "mlp.up_proj.weight", dtype, {c.hidden_dim, c.dim}});
    out.push_back({p + "mlp.down_proj.weight", dtype, {c.dim, c.hidden_dim}});
  }
  out.push_back({"model.norm.weight", dtype, {c.dim}});
  if (!c.tied_embeddings) out.push_back({"lm_head.weight", dtype, {c.vocab_size, c.dim}});
  return out;
}

LoadedModel load_hf_model(const fs::path& dir) {
  if (!fs::is_directory(dir)) throw NotFound("model directory " + dir.string() + " does not exist");
  LoadedModel m;
  m.source = dir.string();
  m.config = read_hf_config(dir / "config.json");
  SafetensorsCheckpoint ckpt(dir);
  // An absent lm_head is how HF checkpoints store tied embeddings, whatever
  // the config's flag says; a present one with tie_word_embeddings=true is
  // ignored, as transformers does.
  if (!ckpt.contains("lm_head.weight")) m.config.tied_embeddings = true;

  const at::ScalarType stored = ckpt.contains("model.embed_tokens.weight")
                                    ? ckpt.entry("model.embed_tokens.weight").dtype
                                    : at::kFloat;
  std::map<std::string, at::Tensor> t;
  for (const SafetensorsSpec& spec : hf_tensor_layout(m.config, stored)) {
    if (!ckpt.contains(spec.name))
      throw CorruptData("model directory " + dir.string() + ": tensor '" + spec.name + "' is missing (required by " +
                        hf_architecture_name(m.config.arch) + " with " + std::to_string(m.config.n_layers) + " layers)");
    const SafetensorsEntry& e = ckpt.entry(spec.name);
    const std::string file = ckpt.file_of(spec.name).path().string();
    if (e.dtype != at::kFloat && e.dtype != at::kBFloat16 && e.dtype != at::kHalf)
      throw Unsupported("model file " + file + ": tensor '" + spec.name + "' has dtype " + c10::toString(e.dtype) +
                        "; weights must be F32, BF16 or F16");
    if (e.shape != spec.shape)
      throw CorruptData("model file " + file + ": tensor '" + spec.name + "' has shape " +
                        c10::str(at::IntArrayRef(e.shape)) + " but config.json implies " +
                        c10::str(at::IntArrayRef(spec.shape)));
    t[spec.name] = ckpt.tensor(spec.name);
  }
  m.config.weight_dtype = dtype_label(stored);

  ModelWeights& w = m.weights;
  w.tok_embeddings = t.at("model.embed_tokens.weight");
  w.norm = t.at("model.norm.weight");
  w.output = m.config.tied_embeddings ? w.tok_embeddings : t.at("lm_head.weight");
  w.layers.resize(static_cast<size_t>(m.config.n_layers));
  for (int64_t l = 0; l < m.config.n_layers; ++l) {
    const std::string p = layer_prefix(l);
    LayerWeights& L = w.layers[static_cast<size_t>(l)];
    L.attn_norm = t.at(p + "input_layernorm.weight");
    L.wq = t.at(p + "self_attn.q_proj.weight");
    L.wk = t.at(p + "self_attn.k_proj.weight");
    L.wv = t.at(p + "self_attn.v_proj.weight");
    L.wo = t.at(p + "self_attn.o_proj.weight");
    if (m.config.qkv_bias) {
      L.bq = t.at(p + "self_attn.q_proj.bias");
      L.bk = t.at(p + "self_attn.k_proj.bias");
      L.bv = t.at(p + "self_attn.v_proj.bias");
    }
    if (m.config.qk_norm) {
      L.q_norm = t.at(p + "self_attn.q_norm.weight");
      L.k_norm = t.at(p + "self_attn.k_norm.weight");
    }
    L.ffn_norm = t.at(p + "post_attention_layernorm.weight");
    L.w_gate = t.at(p + "mlp.gate_proj.weight");
    L.w_up = t.at(p + "mlp.up_proj.weight");
    L.w_down = t.at(p + "mlp.down_proj.weight");
  }
  w.backing = ckpt.backing();
  return m;
}

}  // namespace cdb
