#include "engine/fingerprint.h"

#include <ATen/ATen.h>
#include <xxhash.h>

#include <cstdio>
#include <memory>

#include "common/error.h"

namespace cdb {

namespace {

// Elements sampled per tensor: enough that any re-initialisation or
// fine-tune shows, few enough to stay cheap.
constexpr int64_t kSamples = 257;

class Hasher {
 public:
  Hasher() : state_(XXH3_createState()) {
    if (!state_) throw std::bad_alloc();
    XXH3_128bits_reset(state_.get());
  }
  void bytes(const void* p, size_t n) { XXH3_128bits_update(state_.get(), p, n); }
  void i64(int64_t v) { bytes(&v, sizeof v); }
  void f64(double v) { bytes(&v, sizeof v); }
  void str(std::string_view s) {
    i64(static_cast<int64_t>(s.size()));  // length-prefixed: no ambiguity between fields
    bytes(s.data(), s.size());
  }
  void tensor(std::string_view name, const at::Tensor& t) {
    str(name);
    if (!t.defined()) {
      i64(-1);
      return;
    }
    i64(t.dim());
    for (int64_t d : t.sizes()) i64(d);
    const int64_t n = t.numel();
    if (n == 0) return;
    // Odd stride and a fixed offset so that samples fall in different rows
    // and columns rather than down one column.
    const int64_t count = std::min(n, kSamples);
    const int64_t stride = std::max<int64_t>(1, n / count) | 1;
    at::Tensor idx = (at::arange(count, at::kLong) * stride + 7) % n;
    at::Tensor flat = t.is_contiguous() ? t.view({-1}) : t.reshape({-1});
    at::Tensor s = flat.index_select(0, idx.to(flat.device())).to(at::kCPU, at::kFloat).contiguous();
    bytes(s.data_ptr(), static_cast<size_t>(count) * sizeof(float));
  }
  std::string hex() {
    XXH128_hash_t h = XXH3_128bits_digest(state_.get());
    char out[33];
    std::snprintf(out, sizeof out, "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                  static_cast<unsigned long long>(h.low64));
    return out;
  }

 private:
  struct Free {
    void operator()(XXH3_state_t* s) const { XXH3_freeState(s); }
  };
  std::unique_ptr<XXH3_state_t, Free> state_;
};

}  // namespace

std::string model_fingerprint(const LoadedModel& model, std::string_view tokenizer_fingerprint) {
  const ModelConfig& c = model.config;
  Hasher h;
  h.str("cartridgedb model fingerprint v1");
  h.i64(static_cast<int64_t>(c.arch));
  for (int64_t v : {c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.head_dim, c.vocab_size})
    h.i64(v);
  // max_seq_len is left out: the context window limits use, not the function.
  h.f64(c.norm_eps);
  h.f64(c.rope_theta);
  h.i64(static_cast<int64_t>(c.rope_style));
  h.str(c.rope_scaling.type);
  if (c.rope_scaling.type != "none") {
    h.f64(c.rope_scaling.factor);
    h.f64(c.rope_scaling.low_freq_factor);
    h.f64(c.rope_scaling.high_freq_factor);
    h.i64(c.rope_scaling.original_max_position_embeddings);
  }
  h.i64(c.tied_embeddings);
  h.i64(c.qkv_bias);
  h.i64(c.qk_norm);
  h.str(tokenizer_fingerprint);

  const ModelWeights& w = model.weights;
  if (static_cast<int64_t>(w.layers.size()) != c.n_layers)
    throw InvalidArgument("model_fingerprint: " + model.source + " has " + std::to_string(w.layers.size()) +
                          " layers of weights, config says " + std::to_string(c.n_layers));
  h.tensor("tok_embeddings", w.tok_embeddings);
  for (size_t l = 0; l < w.layers.size(); ++l) {
    const LayerWeights& L = w.layers[l];
    const std::string p = "layers." + std::to_string(l) + ".";
    h.tensor(p + "attn_norm", L.attn_norm);
    h.tensor(p + "wq", L.wq);
    h.tensor(p + "wk", L.wk);
    h.tensor(p + "wv", L.wv);
    h.tensor(p + "wo", L.wo);
    h.tensor(p + "bq", L.bq);
    h.tensor(p + "bk", L.bk);
    h.tensor(p + "bv", L.bv);
    h.tensor(p + "q_norm", L.q_norm);
    h.tensor(p + "k_norm", L.k_norm);
    h.tensor(p + "ffn_norm", L.ffn_norm);
    h.tensor(p + "w_gate", L.w_gate);
    h.tensor(p + "w_up", L.w_up);
    h.tensor(p + "w_down", L.w_down);
  }
  h.tensor("norm", w.norm);
  if (!c.tied_embeddings) h.tensor("output", w.output);
  return h.hex();
}

}  // namespace cdb
