#include "engine/transformer.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/TensorIndexing.h>
#include <c10/core/GradMode.h>
#include <torch/version.h>

#include <cmath>
#include <limits>
#include <thread>

#include "common/error.h"
#include "engine/decode_attention.h"
#include "engine/layer_checkpoint.h"
#include "engine/cpu_runtime.h"

namespace cdb {
namespace {

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  // In fp32 whatever the model dtype, as Hugging Face does.
  at::Tensor xf = x.to(at::kFloat);
  xf = xf * at::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps);
  return xf.to(x.scalar_type()) * weight;
}

at::Tensor linear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b = {}) {
  return b.defined() ? at::linear(x, w, b) : at::linear(x, w);
}

// Attention of q [B, H, T, hd] over [prefix ; cache].
//   K, V   [B, n_kv, S, hd]  the sequences' own tokens (the cache)
//   pk, pv [n_kv, P, hd]     a Cartridge, shared by the B sequences, or undefined
//   mask   [B or 1, 1, T, S] bool, true = visible; undefined = all visible.
//          The prefix is always fully visible.
// GQA without repeating K/V: the G = H / n_kv query heads of one KV head are
// folded into the row axis ([B, n_kv, G*T, hd]) so every matmul runs against
// the un-repeated K/V. The prefix is never copied per sequence either: for
// it, the batch is folded into the rows too ([n_kv, B*G*T, hd]), which copies
// only the (small) queries. Scores against both parts are concatenated,
// softmaxed once, and multiplied back by each V part.
at::Tensor attend(const at::Tensor& q, const at::Tensor& K, const at::Tensor& V, const at::Tensor& pk,
                  const at::Tensor& pv, const at::Tensor& mask) {
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2), hd = q.size(3);
  const int64_t KV = K.size(1), G = H / KV, S = K.size(2);
  at::Tensor qg = q.reshape({B, KV, G * T, hd});
  auto merge_heads = [&](const at::Tensor& y) {  // [B, KV, G*T, hd] -> [B, T, H*hd]
    return y.reshape({B, H, T, hd}).transpose(1, 2).reshape({B, T, H * hd});
  };
  auto row_mask = [&] {  // [B|1, 1, T, S] -> [B|1, 1, G, T, S]
    return mask.unsqueeze(2);
  };
#if TORCH_VERSION_MAJOR >= 2
  // The fused kernel where it applies: without a prefix (one key part), and
  // when training a prefix. There the prefix is joined in front of each
  // row's keys (a copy per row, small beside the activations) so that the
  // backward pass runs fused too, instead of keeping the [rows, heads, T,
  // P + S] probabilities of the explicit path for autograd. Inference with a
  // prefix keeps the explicit path below: exact, no copy, and the prefix
  // scores are cheap.
  const bool train_prefix = pk.defined() && at::GradMode::is_enabled() && (pk.requires_grad() || pv.requires_grad());
  if (!pk.defined() || train_prefix) {
    at::Tensor keys = K, values = V;
    int64_t P = 0;
    if (train_prefix) {
      P = pk.size(1);
      keys = at::cat({pk.unsqueeze(0).expand({B, KV, P, hd}), K}, 2);
      values = at::cat({pv.unsqueeze(0).expand({B, KV, P, hd}), V}, 2);
    }
    c10::optional<at::Tensor> m;
    if (mask.defined()) {
      at::Tensor rows = row_mask().expand({mask.size(0), 1, G, T, S}).reshape({mask.size(0), 1, G * T, S});
      if (P > 0) rows = at::cat({at::ones({mask.size(0), 1, G * T, P}, rows.options()), rows}, -1);
      m = rows;
    }
    return merge_heads(at::scaled_dot_product_attention(qg, keys, values, m));
  }
#endif
  qg = qg * (1.0 / std::sqrt(static_cast<double>(hd)));
  at::Tensor scores = at::matmul(qg, K.transpose(-1, -2));  // [B, KV, G*T, S]
  if (mask.defined())
    scores = scores.view({B, KV, G, T, S})
                 .masked_fill(row_mask().logical_not(), -std::numeric_limits<float>::infinity())
                 .view({B, KV, G * T, S});
  int64_t P = 0;
  if (pk.defined()) {
    P = pk.size(1);
    at::Tensor qp = qg.permute({1, 0, 2, 3}).reshape({KV, B * G * T, hd});
    at::Tensor sp = at::matmul(qp, pk.transpose(1, 2)).view({KV, B, G * T, P}).permute({1, 0, 2, 3});
    scores = at::cat({sp, scores}, -1);
  }
  at::Tensor probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());
  at::Tensor y = at::matmul(probs.narrow(-1, P, S), V);
  if (P > 0) {
    at::Tensor pp = probs.narrow(-1, 0, P).permute({1, 0, 2, 3}).reshape({KV, B * G * T, P});
    y = y + at::matmul(pp, pv).view({KV, B, G * T, hd}).permute({1, 0, 2, 3});
  }
  return merge_heads(y);
}

// One layer's queries, keys and values for x [B, T, dim]: q [B, T, H, hd]
// and k [B, T, n_kv, hd] after RoPE at the positions of cos/sin, v
// [B, T, n_kv, hd].
struct Qkv {
  at::Tensor q, k, v;
};
Qkv project_qkv(const at::Tensor& x, const LayerWeights& lw, const ModelConfig& c, const Rope& rope,
                const at::Tensor& cos, const at::Tensor& sin) {
  const int64_t B = x.size(0), T = x.size(1);
  at::Tensor h = rms_norm(x, lw.attn_norm, c.norm_eps);
  at::Tensor q = linear(h, lw.wq, lw.bq).view({B, T, c.n_heads, c.head_dim});
  at::Tensor k = linear(h, lw.wk, lw.bk).view({B, T, c.n_kv_heads, c.head_dim});
  at::Tensor v = linear(h, lw.wv, lw.bv).view({B, T, c.n_kv_heads, c.head_dim});
  if (c.qk_norm) {  // Qwen3: per-head RMSNorm before RoPE
    q = rms_norm(q, lw.q_norm, c.norm_eps);
    k = rms_norm(k, lw.k_norm, c.norm_eps);
  }
  return {rope.apply(q, cos, sin), rope.apply(k, cos, sin), v};
}

// x + the layer's SwiGLU feed-forward of it.
at::Tensor add_feed_forward(const at::Tensor& x, const LayerWeights& lw, const ModelConfig& c) {
  at::Tensor h = rms_norm(x, lw.ffn_norm, c.norm_eps);
  return x + at::linear(at::silu(at::linear(h, lw.w_gate)) * at::linear(h, lw.w_up), lw.w_down);
}

void check_prefix(const Cartridge& p, const ModelConfig& c) {
  if (p.layers() != c.n_layers || p.values.size() != p.keys.size())
    throw InvalidArgument("Cartridge has " + std::to_string(p.layers()) + " layers, the model " +
                          std::to_string(c.n_layers));
  for (size_t l = 0; l < p.keys.size(); ++l) {
    const std::vector<int64_t> want = {c.n_kv_heads, p.tokens(), c.head_dim};
    if (p.keys[l].sizes() != at::IntArrayRef(want) || p.values[l].sizes() != at::IntArrayRef(want))
      throw InvalidArgument("Cartridge layer " + std::to_string(l) + ": keys " + c10::str(p.keys[l].sizes()) +
                            " and values " + c10::str(p.values[l].sizes()) + ", expected " +
                            c10::str(at::IntArrayRef(want)));
  }
}

}  // namespace

Transformer::Transformer(LoadedModel model, at::Device device, at::ScalarType dtype)
    : model_(std::move(model)), device_(device), dtype_(dtype), rope_(model_.config, device) {
  const ModelConfig& c = model_.config;
  if (c.n_heads <= 0 || c.n_kv_heads <= 0 || c.n_heads % c.n_kv_heads != 0 ||
      static_cast<int64_t>(model_.weights.layers.size()) != c.n_layers || !model_.weights.tok_embeddings.defined() ||
      !model_.weights.output.defined())
    throw InvalidArgument("model " + model_.source + ": inconsistent config (n_heads=" + std::to_string(c.n_heads) +
                          ", n_kv_heads=" + std::to_string(c.n_kv_heads) + ", n_layers=" +
                          std::to_string(c.n_layers) + ", layers loaded=" +
                          std::to_string(model_.weights.layers.size()) + ")");
  keep_tensor_memory_mapped();
  if (at::get_num_threads() == 1) {
    const unsigned cores = std::thread::hardware_concurrency();
    if (cores > 1) set_compute_threads(static_cast<int>(cores));
  }
  ModelWeights& w = model_.weights;
  const bool tied = w.output.defined() && w.output.is_same(w.tok_embeddings);
  auto conv = [&](at::Tensor& t) {
    if (t.defined()) t = t.to(device, dtype);  // a no-op when already there
  };
  conv(w.tok_embeddings);
  conv(w.norm);
  if (tied) w.output = w.tok_embeddings;
  else conv(w.output);
  for (auto& l : w.layers)
    for (at::Tensor* t : l.all()) conv(*t);
}

KVCache Transformer::new_cache(int64_t batch, int64_t capacity) const {
  return KVCache(model_.config, batch, capacity, options());
}

at::Tensor Transformer::forward(const at::Tensor& tokens_in, KVCache& cache, const Cartridge* prefix,
                                bool last_only, const at::Tensor& segments, bool recompute_layers) {
  const ModelConfig& c = model_.config;
  const ModelWeights& w = model_.weights;
  if (tokens_in.dim() != 2 || tokens_in.size(1) == 0 || tokens_in.size(0) != cache.batch())
    throw InvalidArgument("Transformer::forward: tokens must be [B=" + std::to_string(cache.batch()) +
                          ", T>0], got " + c10::str(tokens_in.sizes()));
  const at::Tensor tokens = tokens_in.to(device_, at::kLong);
  if (((tokens < 0) | (tokens >= c.vocab_size)).any().item<bool>())
    throw InvalidArgument("Transformer::forward: token id out of range [0, " + std::to_string(c.vocab_size) + ")");
  if (prefix != nullptr && prefix->empty()) prefix = nullptr;
  if (prefix != nullptr) check_prefix(*prefix, c);

  const int64_t B = tokens.size(0), T = tokens.size(1), L = cache.length(), S = L + T;
  const int64_t P = prefix ? prefix->tokens() : 0;
  auto longs = at::TensorOptions().device(device_).dtype(at::kLong);

  // Positions [B or 1, T] and the visibility of cache slots [B or 1, 1, T, S].
  const at::Tensor& pad = cache.padding();
  at::Tensor pos = at::arange(P + L, P + S, longs).unsqueeze(0);
  if (pad.defined()) pos = pos - pad.unsqueeze(1);
  at::Tensor mask, seg;
  if (segments.defined()) {
    if (segments.sizes() != tokens.sizes() || L != 0 || pad.defined())
      throw InvalidArgument("Transformer::forward: segments must be [B, T] like the tokens (" +
                            c10::str(tokens.sizes()) + "), on an empty cache without padding; got " +
                            c10::str(segments.sizes()) + " with " + std::to_string(L) + " cached tokens");
    seg = segments.to(device_, at::kLong);
    // Each segment restarts at position P: its index minus that of the
    // segment's first token (a running max of the start indices).
    at::Tensor idx = at::arange(T, longs).unsqueeze(0).expand({B, T});
    at::Tensor starts = at::ones({B, T}, longs.dtype(at::kBool));
    if (T > 1) starts.narrow(1, 1, T - 1).copy_(seg.narrow(1, 1, T - 1) != seg.narrow(1, 0, T - 1));
    at::Tensor first = std::get<0>(at::cummax(at::where(starts, idx, at::zeros_like(idx)), 1));
    pos = idx - first + P;
    at::Tensor causal = at::arange(S, longs).view({1, S}) <= at::arange(S, longs).view({S, 1});
    mask = (causal.unsqueeze(0) & (seg.unsqueeze(2) == seg.unsqueeze(1))).unsqueeze(1);
  }
  auto [cos, sin] = rope_.tables(pos);
  if (!seg.defined() && (T > 1 || pad.defined())) {
    at::Tensor q_slot = at::arange(L, S, longs).view({T, 1});
    at::Tensor k_slot = at::arange(0, S, longs).view({1, S});
    mask = (k_slot <= q_slot).unsqueeze(0);
    // Padding slots are hidden, except from themselves: a padding query
    // then still sees one key, so its (discarded) row stays finite.
    if (pad.defined()) mask = mask & ((k_slot.unsqueeze(0) >= pad.view({B, 1, 1})) | (k_slot == q_slot));
    mask = mask.unsqueeze(1);
  }

  at::Tensor x = at::embedding(w.tok_embeddings, tokens);  // [B, T, dim]
  // Checkpointed layers need the cache empty (their keys are this call's
  // own) and leave it unwritten: a recomputed layer cannot append twice.
  const bool recompute = recompute_layers && at::GradMode::is_enabled() && L == 0;
  for (int64_t l = 0; l < c.n_layers; ++l) {
    const LayerWeights& lw = w.layers[static_cast<size_t>(l)];
    at::Tensor pk, pv;
    if (prefix) {
      pk = prefix->keys[static_cast<size_t>(l)].to(device_, dtype_);
      pv = prefix->values[static_cast<size_t>(l)].to(device_, dtype_);
    }
    if (recompute) {
      x = checkpointed(
          [&lw, &c, this, cos = cos, sin = sin, mask](const std::vector<at::Tensor>& in) {
            auto [q, k, v] = project_qkv(in[0], lw, c, rope_, cos, sin);
            at::Tensor y = attend(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), in[1], in[2], mask);
            return add_feed_forward(in[0] + at::linear(y, lw.wo), lw, c);
          },
          {x, pk, pv});
      continue;
    }
    auto [q, k, v] = project_qkv(x, lw, c, rope_, cos, sin);
    auto [K, V] = cache.append(l, k.transpose(1, 2), v.transpose(1, 2));
    x = add_feed_forward(x + at::linear(attend(q.transpose(1, 2), K, V, pk, pv, mask), lw.wo), lw, c);
  }
  if (!recompute) cache.advance(T);
  if (last_only) x = x.narrow(1, T - 1, 1);
  return at::linear(rms_norm(x, w.norm, c.norm_eps), w.output).to(at::kFloat);
}

at::Tensor Transformer::decode(const DecodeBatch& b, KVSlots& kv) {
  const ModelConfig& c = model_.config;
  const ModelWeights& w = model_.weights;
  const int64_t N = b.tokens.size(0), H = c.n_heads, KV = c.n_kv_heads, G = H / KV, hd = c.head_dim;
  if (N == 0 || N > kv.slots() || b.max_length + 1 > kv.capacity() || kv.layers() != c.n_layers)
    throw InvalidArgument("Transformer::decode: " + std::to_string(N) + " sequences of up to " +
                          std::to_string(b.max_length + 1) + " tokens do not fit the KV pool (" +
                          std::to_string(kv.slots()) + " x " + std::to_string(kv.capacity()) + ")");
  for (const auto& g : b.shared) check_prefix(*g.cartridge, c);
  auto longs = at::TensorOptions().device(device_).dtype(at::kLong);
  const at::Tensor tokens = b.tokens.to(device_, at::kLong), lengths = b.lengths.to(device_, at::kLong);
  const at::Tensor rows = at::arange(N, longs);
  auto [cos, sin] = rope_.tables(b.positions.to(device_, at::kLong).view({N, 1}));
  // Row i sees its own slots 0..lengths[i] (the new token included).
  const int64_t S = b.max_length + 1;
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  std::vector<at::Tensor> group_rows;
  for (const auto& g : b.shared) group_rows.push_back(g.rows.to(device_, at::kLong));

  at::Tensor x = at::embedding(w.tok_embeddings, tokens).view({N, 1, c.dim});
  for (int64_t l = 0; l < c.n_layers; ++l) {
    const LayerWeights& lw = w.layers[static_cast<size_t>(l)];
    auto [q1, k1, v1] = project_qkv(x, lw, c, rope_, cos, sin);
    const at::Tensor q = q1.view({N, KV, G, hd}) * scale;
    const at::Tensor k = k1.view({N, KV, hd}), v = v1.view({N, KV, hd});
    at::Tensor& K = kv.keys(l);
    at::Tensor& V = kv.values(l);
    using at::indexing::Slice;
    K.index_put_({rows, Slice(), lengths}, k);
    V.index_put_({rows, Slice(), lengths}, v);
    // Own tokens, read in place from the pool's first N rows.
    AttentionPartial own = attend_own_tokens(q, K, V, lengths, S, decode_attention_);
    at::Tensor out = own.out;  // [N, KV, G, hd]
    for (size_t gi = 0; gi < b.shared.size(); ++gi) {
      const Cartridge& cart = *b.shared[gi].cartridge;
      const at::Tensor& r = group_rows[gi];
      const int64_t n = r.size(0);
      // [n, KV, G, hd] -> [KV, n*G, hd]: every query of the group against
      // the Cartridge in one product, which reads its KV once.
      at::Tensor qg = q.index_select(0, r).permute({1, 0, 2, 3}).reshape({KV, n * G, hd});
      AttentionPartial pre = attend_part(qg, cart.keys[static_cast<size_t>(l)].to(device_, dtype_),
                                         cart.values[static_cast<size_t>(l)].to(device_, dtype_), {});
      pre.out = pre.out.view({KV, n, G, hd}).permute({1, 0, 2, 3});
      pre.lse = pre.lse.view({KV, n, G}).permute({1, 0, 2});
      AttentionPartial mine{own.out.index_select(0, r), own.lse.index_select(0, r)};
      out = out.index_copy(0, r, merge_parts(pre, mine));
    }
    x = add_feed_forward(x + at::linear(out.to(dtype_).reshape({N, 1, H * hd}), lw.wo), lw, c);
  }
  return at::linear(rms_norm(x.view({N, c.dim}), w.norm, c.norm_eps), w.output).to(at::kFloat);
}

bool Transformer::decode_uses_fused_attention(const KVSlots& kv) const {
  const ModelConfig& c = model_.config;
  const at::Tensor q = at::empty({1, c.n_kv_heads, c.n_heads / c.n_kv_heads, c.head_dim}, options());
  return decode_attention_ == DecodeAttention::kAuto &&
         fused_decode_attention_applies(q, kv.keys(0), kv.values(0));
}

Cartridge Transformer::prefill_cartridge(const std::vector<int32_t>& tokens, const Cartridge* prefix) {
  if (tokens.empty()) throw InvalidArgument("prefill_cartridge: no tokens");
  const int64_t n = static_cast<int64_t>(tokens.size());
  at::Tensor t = at::tensor(std::vector<int64_t>(tokens.begin(), tokens.end()), at::kLong).view({1, n});
  KVCache cache = new_cache(1, n);
  forward(t, cache, prefix, /*last_only=*/true);
  return cache.to_cartridge(0);
}

}  // namespace cdb
