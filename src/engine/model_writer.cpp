#include "engine/model_writer.h"

#include <ATen/ATen.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.h"
#include "engine/hf_config.h"
#include "engine/hf_model_loader.h"
#include "engine/safetensors_writer.h"

namespace cdb {

namespace fs = std::filesystem;

at::Tensor interleaved_to_half(const at::Tensor& w, int64_t n_heads, int64_t head_dim) {
  if (w.dim() < 1 || w.size(0) != n_heads * head_dim || head_dim % 2 != 0)
    throw InvalidArgument("interleaved_to_half: tensor of shape " + c10::str(w.sizes()) + " is not " +
                          std::to_string(n_heads) + " heads of even size " + std::to_string(head_dim));
  std::vector<int64_t> shape = {n_heads, head_dim / 2, 2};
  for (int64_t d = 1; d < w.dim(); ++d) shape.push_back(w.size(d));
  return w.reshape(shape).transpose(1, 2).reshape(w.sizes()).contiguous();
}

void write_file_atomic(const fs::path& path, const std::string& text) {
  fs::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw IoError("cannot create " + tmp.string() + ": " + std::strerror(errno));
  const char* p = text.data();
  size_t n = text.size();
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      int err = errno;
      ::close(fd);
      fs::remove(tmp);
      throw IoError("cannot write " + tmp.string() + ": " + std::strerror(err));
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int err = errno;
    fs::remove(tmp);
    throw IoError("cannot flush " + tmp.string() + ": " + std::strerror(err));
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp);
    throw IoError("cannot rename " + tmp.string() + " to " + path.string() + ": " + ec.message());
  }
}

void write_hf_config(const ModelConfig& config, const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw IoError("cannot create directory " + dir.string() + ": " + ec.message());
  write_file_atomic(dir / "config.json", hf_config_json(config));
}

void write_hf_model(const LoadedModel& model, const fs::path& dir, at::ScalarType dtype) {
  if (dtype != at::kFloat && dtype != at::kBFloat16 && dtype != at::kHalf)
    throw InvalidArgument(std::string("write_hf_model: dtype ") + c10::toString(dtype) + " is not f32, bf16 or f16");
  ModelConfig cfg = model.config;
  const bool permute = cfg.rope_style == RopeStyle::Interleaved;
  cfg.rope_style = RopeStyle::Half;
  cfg.weight_dtype = dtype == at::kFloat ? "f32" : dtype == at::kBFloat16 ? "bf16" : "f16";
  const ModelWeights& w = model.weights;
  if (static_cast<int64_t>(w.layers.size()) != cfg.n_layers)
    throw InvalidArgument("write_hf_model: " + model.source + " has " + std::to_string(w.layers.size()) +
                          " layers of weights but its config says " + std::to_string(cfg.n_layers));

  auto qk = [&](const at::Tensor& t, int64_t heads) {
    return permute && t.defined() ? interleaved_to_half(t, heads, cfg.head_dim) : t;
  };
  // q_norm/k_norm act on one head_dim vector shared by all heads.
  auto per_head = [&](const at::Tensor& t) { return permute && t.defined() ? interleaved_to_half(t, 1, cfg.head_dim) : t; };
  std::map<std::string, at::Tensor> by_name;
  by_name["model.embed_tokens.weight"] = w.tok_embeddings;
  by_name["model.norm.weight"] = w.norm;
  if (!cfg.tied_embeddings) by_name["lm_head.weight"] = w.output;
  for (int64_t l = 0; l < cfg.n_layers; ++l) {
    const LayerWeights& L = w.layers[static_cast<size_t>(l)];
    const std::string p = "model.layers." + std::to_string(l) + ".";
    by_name[p + "input_layernorm.weight"] = L.attn_norm;
    by_name[p + "self_attn.q_proj.weight"] = qk(L.wq, cfg.n_heads);
    by_name[p + "self_attn.k_proj.weight"] = qk(L.wk, cfg.n_kv_heads);
    by_name[p + "self_attn.v_proj.weight"] = L.wv;
    by_name[p + "self_attn.o_proj.weight"] = L.wo;
    by_name[p + "self_attn.q_proj.bias"] = qk(L.bq, cfg.n_heads);
    by_name[p + "self_attn.k_proj.bias"] = qk(L.bk, cfg.n_kv_heads);
    by_name[p + "self_attn.v_proj.bias"] = L.bv;
    by_name[p + "self_attn.q_norm.weight"] = per_head(L.q_norm);
    by_name[p + "self_attn.k_norm.weight"] = per_head(L.k_norm);
    by_name[p + "post_attention_layernorm.weight"] = L.ffn_norm;
    by_name[p + "mlp.gate_proj.weight"] = L.w_gate;
    by_name[p + "mlp.up_proj.weight"] = L.w_up;
    by_name[p + "mlp.down_proj.weight"] = L.w_down;
  }
  std::vector<SafetensorsSpec> layout = hf_tensor_layout(cfg, dtype);
  for (const SafetensorsSpec& s : layout) {
    auto it = by_name.find(s.name);
    if (it == by_name.end() || !it->second.defined())
      throw InvalidArgument("write_hf_model: " + model.source + " lacks tensor '" + s.name + "' that its config requires");
    if (it->second.sizes() != at::IntArrayRef(s.shape))
      throw InvalidArgument("write_hf_model: " + model.source + ": tensor '" + s.name + "' has shape " +
                            c10::str(it->second.sizes()) + ", config implies " + c10::str(at::IntArrayRef(s.shape)));
  }
  write_hf_config(cfg, dir);
  SafetensorsWriter writer(dir / "model.safetensors", layout);
  for (const SafetensorsSpec& s : layout) writer.write(s.name, by_name.at(s.name));
  writer.commit();
}

}  // namespace cdb
