// The forward pass: a Cartridge prefix is exactly the KV of its tokens in the
// prompt, composition equals concatenation, gradients reach the Cartridge,
// batching and GQA are exact, and the RoPE styles / Qwen extras agree with a
// plain reference implementation.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "common/error.h"
#include "common/models_dir.h"
#include "engine/llama2c_loader.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/transformer.h"

namespace cdb {
namespace {

LoadedModel stories() { return load_llama2c(model_file("stories260K/stories260K.bin")); }

std::vector<int32_t> long_text_tokens() {
  std::ifstream f(model_file("stories260K/golden_greedy_t0_n200.txt"), std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  auto tok = load_tokenizer(model_file("stories260K/tok512.bin"));
  return tok->encode(ss.str() + " " + ss.str(), /*add_bos=*/true);
}

at::Tensor as_batch(const std::vector<int32_t>& ids, size_t from, size_t to) {
  return at::tensor(std::vector<int64_t>(ids.begin() + static_cast<long>(from), ids.begin() + static_cast<long>(to)),
                    at::kLong)
      .view({1, static_cast<int64_t>(to - from)});
}

double max_diff(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); }

// Logits of `ids[0:n]` run as plain prompt.
at::Tensor prompt_logits(Transformer& m, const std::vector<int32_t>& ids, size_t n) {
  KVCache cache = m.new_cache(1, static_cast<int64_t>(n));
  return m.forward(as_batch(ids, 0, n), cache);
}

// The KV of ids[0:n] as a Cartridge whose tensors are trainable leaves.
Cartridge trainable_prefix(Transformer& m, const std::vector<int32_t>& ids, size_t n) {
  Cartridge init;
  {
    c10::InferenceMode guard;
    init = m.prefill_cartridge(std::vector<int32_t>(ids.begin(), ids.begin() + static_cast<long>(n)));
  }
  Cartridge c;
  for (int64_t l = 0; l < init.layers(); ++l) {
    c.keys.push_back(init.keys[l].clone().requires_grad_(true));
    c.values.push_back(init.values[l].clone().requires_grad_(true));
  }
  return c;
}

TEST(Transformer, CartridgeEqualsItsTokensInThePrompt) {
  c10::InferenceMode guard;
  Transformer m(stories());
  const auto ids = long_text_tokens();
  ASSERT_GT(ids.size(), 210u);
  const size_t q = 6;  // query tokens after the Cartridge
  for (size_t p : {1u, 17u, 200u}) {
    Cartridge c = m.prefill_cartridge(std::vector<int32_t>(ids.begin(), ids.begin() + static_cast<long>(p)));
    ASSERT_EQ(c.tokens(), static_cast<int64_t>(p));
    KVCache cache = m.new_cache(1, q);
    at::Tensor with_prefix = m.forward(as_batch(ids, p, p + q), cache, &c);
    at::Tensor reference = prompt_logits(m, ids, p + q).narrow(1, static_cast<int64_t>(p), q);
    EXPECT_LE(max_diff(with_prefix, reference), 1e-4) << "p=" << p;
    // Decoding one more token after the Cartridge and the query agrees too.
    KVCache cache2 = m.new_cache(1, q + 1);
    m.forward(as_batch(ids, p, p + q), cache2, &c);
    at::Tensor next = m.forward(as_batch(ids, p + q, p + q + 1), cache2, &c, /*last_only=*/true);
    at::Tensor ref_next = prompt_logits(m, ids, p + q + 1).narrow(1, static_cast<int64_t>(p + q), 1);
    EXPECT_LE(max_diff(next, ref_next), 1e-4) << "p=" << p;
  }
}

TEST(Transformer, ComposedCartridgesEqualTheConcatenatedPrompt) {
  c10::InferenceMode guard;
  Transformer m(stories());
  const auto ids = long_text_tokens();
  const size_t a = 23, b = 40, q = 5;
  Cartridge A = m.prefill_cartridge(std::vector<int32_t>(ids.begin(), ids.begin() + a));
  // B's KV computed at positions a..a+b-1, attending to A.
  Cartridge B = m.prefill_cartridge(std::vector<int32_t>(ids.begin() + a, ids.begin() + a + b), &A);
  Cartridge AB = compose({&A, &B});
  ASSERT_EQ(AB.tokens(), static_cast<int64_t>(a + b));
  KVCache cache = m.new_cache(1, q);
  at::Tensor got = m.forward(as_batch(ids, a + b, a + b + q), cache, &AB);
  at::Tensor want = prompt_logits(m, ids, a + b + q).narrow(1, a + b, q);
  EXPECT_LE(max_diff(got, want), 1e-4);
  // And the composed KV is the KV of the whole prefix.
  Cartridge whole = m.prefill_cartridge(std::vector<int32_t>(ids.begin(), ids.begin() + a + b));
  for (int64_t l = 0; l < whole.layers(); ++l) {
    EXPECT_LE(max_diff(AB.keys[l], whole.keys[l]), 1e-4);
    EXPECT_LE(max_diff(AB.values[l], whole.values[l]), 1e-4);
  }
}

TEST(Transformer, GradientsReachTheCartridgeWithFrozenWeights) {
  Transformer m(stories());
  const auto ids = long_text_tokens();
  Cartridge c = trainable_prefix(m, ids, 12);
  const size_t q = 8;
  KVCache cache = m.new_cache(1, q);
  at::Tensor logits = m.forward(as_batch(ids, 12, 12 + q), cache, &c);
  at::Tensor targets = as_batch(ids, 13, 13 + q).view({-1});
  at::Tensor loss = at::cross_entropy_loss(logits.view({static_cast<int64_t>(q), -1}), targets);
  loss.backward();
  for (int64_t l = 0; l < c.layers(); ++l) {
    for (const at::Tensor& t : {c.keys[l], c.values[l]}) {
      ASSERT_TRUE(t.grad().defined()) << "layer " << l;
      EXPECT_TRUE(at::isfinite(t.grad()).all().item<bool>()) << "layer " << l;
      EXPECT_GT(t.grad().abs().sum().item<double>(), 0.0) << "layer " << l;
    }
  }
  EXPECT_FALSE(m.model().weights.layers[0].wq.requires_grad());
  EXPECT_FALSE(m.model().weights.layers[0].wq.grad().defined());
}

TEST(Transformer, BatchedRowsWithLeftPaddingEqualSingleRows) {
  c10::InferenceMode guard;
  Transformer m(stories());
  const auto ids = long_text_tokens();
  Cartridge c = m.prefill_cartridge(std::vector<int32_t>(ids.begin(), ids.begin() + 9));
  // Three prompts of lengths 7, 3, 5 from different offsets.
  const std::vector<std::pair<size_t, size_t>> spans = {{20, 27}, {40, 43}, {60, 65}};
  at::Tensor tokens = at::zeros({3, 7}, at::kLong);
  at::Tensor pad = at::tensor(std::vector<int64_t>{0, 4, 2}, at::kLong);
  for (int64_t r = 0; r < 3; ++r) {
    auto [from, to] = spans[r];
    tokens[r].narrow(0, pad[r].item<int64_t>(), static_cast<int64_t>(to - from)).copy_(as_batch(ids, from, to)[0]);
  }
  KVCache batch = m.new_cache(3, 9);
  batch.set_padding(pad);
  at::Tensor last = m.forward(tokens, batch, &c, /*last_only=*/true);
  at::Tensor step = m.forward(at::tensor(std::vector<int64_t>{5, 6, 7}, at::kLong).view({3, 1}), batch, &c);
  for (int64_t r = 0; r < 3; ++r) {
    auto [from, to] = spans[r];
    KVCache one = m.new_cache(1, 9);
    at::Tensor l1 = m.forward(as_batch(ids, from, to), one, &c, /*last_only=*/true);
    at::Tensor s1 = m.forward(at::full({1, 1}, 5 + r, at::kLong), one, &c);
    EXPECT_LE(max_diff(last[r], l1[0]), 1e-4) << "row " << r;
    EXPECT_LE(max_diff(step[r], s1[0]), 1e-4) << "row " << r;
  }
}

// Packing: three sequences in one row (and one in a second row, followed by
// padding) read exactly as each alone after the same Cartridge, with and
// without one, and gradients reach the Cartridge through the packed rows.
TEST(Transformer, PackedSegmentsEqualEachSequenceAlone) {
  Transformer m(stories());
  const auto ids = long_text_tokens();
  Cartridge c = trainable_prefix(m, ids, 9);
  const std::vector<std::pair<size_t, size_t>> spans = {{20, 27}, {40, 43}, {60, 65}, {80, 84}};
  // Row 0: spans 0, 1, 2 (segments 0, 1, 2; 15 tokens); row 1: span 3 then
  // 11 padding tokens (segment -1).
  at::Tensor tokens = at::zeros({2, 15}, at::kLong), seg = at::full({2, 15}, -1, at::kLong);
  int64_t at_t = 0;
  for (int64_t i = 0; i < 4; ++i) {
    auto [from, to] = spans[static_cast<size_t>(i)];
    const int64_t row = i < 3 ? 0 : 1, n = static_cast<int64_t>(to - from);
    if (i == 3) at_t = 0;
    tokens[row].narrow(0, at_t, n).copy_(as_batch(ids, from, to)[0]);
    seg[row].narrow(0, at_t, n).fill_(i);
    at_t += n;
  }
  for (const Cartridge* prefix : {static_cast<const Cartridge*>(&c), static_cast<const Cartridge*>(nullptr)}) {
    c10::InferenceMode guard;
    KVCache packed = m.new_cache(2, 15);
    at::Tensor got = m.forward(tokens, packed, prefix, false, seg);
    int64_t start = 0;
    for (int64_t i = 0; i < 4; ++i) {
      auto [from, to] = spans[static_cast<size_t>(i)];
      const int64_t row = i < 3 ? 0 : 1, n = static_cast<int64_t>(to - from);
      if (i == 3) start = 0;
      KVCache one = m.new_cache(1, n);
      at::Tensor want = m.forward(as_batch(ids, from, to), one, prefix);
      EXPECT_LE(max_diff(got[row].narrow(0, start, n), want[0]), 1e-4)
          << "sequence " << i << (prefix ? " after the Cartridge" : " alone");
      start += n;
    }
  }
  // Gradients flow to the Cartridge from a packed forward.
  KVCache packed = m.new_cache(2, 15);
  m.forward(tokens, packed, &c, false, seg).select(2, 7).sum().backward();
  ASSERT_TRUE(c.keys[0].grad().defined());
  EXPECT_GT(c.keys[0].grad().abs().sum().item<double>(), 0.0);
  // Misuse is an error, not a silent misread.
  KVCache other = m.new_cache(2, 15);
  EXPECT_THROW(m.forward(tokens, other, &c, false, seg.narrow(1, 0, 14)), InvalidArgument);
}

TEST(Transformer, RejectsMismatchedCartridgeAndTokens) {
  c10::InferenceMode guard;
  Transformer m(stories());
  Cartridge bad = m.prefill_cartridge({1, 2, 3});
  bad.keys.pop_back();
  bad.values.pop_back();
  KVCache cache = m.new_cache(1, 4);
  EXPECT_THROW(m.forward(at::ones({1, 2}, at::kLong), cache, &bad), InvalidArgument);
  EXPECT_THROW(m.forward(at::full({1, 2}, 512, at::kLong), cache), InvalidArgument);
  EXPECT_THROW(m.forward(at::ones({2, 2}, at::kLong), cache), InvalidArgument);
  EXPECT_THROW(m.forward(at::ones({1, 5}, at::kLong), cache), InvalidArgument);  // over capacity
}

// ---------------------------------------------------------------------------
// A deliberately plain reference: one sequence, repeated KV heads, full
// causal softmax, RoPE from the formulas. Checks Half/Interleaved RoPE, llama3
// scaling, Qwen2 biases and Qwen3 q/k norms against the engine.

at::Tensor ref_norm(const at::Tensor& x, const at::Tensor& w, double eps) {
  return x * at::rsqrt(x.pow(2).mean(-1, true) + eps) * w;
}

at::Tensor ref_rope(const at::Tensor& x, const ModelConfig& c, int64_t pos0) {  // x [T, heads, hd]
  const int64_t T = x.size(0), hd = x.size(2);
  at::Tensor out = x.clone();
  at::Tensor inv = rope_inv_freq(c);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < hd / 2; ++i) {
      const double ang = static_cast<double>(static_cast<float>(pos0 + t) * inv[i].item<float>());
      const int64_t a = c.rope_style == RopeStyle::Interleaved ? 2 * i : i;
      const int64_t b = c.rope_style == RopeStyle::Interleaved ? 2 * i + 1 : i + hd / 2;
      at::Tensor xa = x[t].select(1, a), xb = x[t].select(1, b);
      out[t].select(1, a).copy_(xa * std::cos(ang) - xb * std::sin(ang));
      out[t].select(1, b).copy_(xa * std::sin(ang) + xb * std::cos(ang));
    }
  return out;
}

at::Tensor ref_forward(const LoadedModel& m, const std::vector<int64_t>& ids) {
  const ModelConfig& c = m.config;
  const auto& w = m.weights;
  const int64_t T = static_cast<int64_t>(ids.size()), G = c.n_heads / c.n_kv_heads;
  at::Tensor x = w.tok_embeddings.index_select(0, at::tensor(ids, at::kLong));
  for (const LayerWeights& lw : w.layers) {
    at::Tensor h = ref_norm(x, lw.attn_norm, c.norm_eps);
    at::Tensor q = at::matmul(h, lw.wq.t()), k = at::matmul(h, lw.wk.t()), v = at::matmul(h, lw.wv.t());
    if (lw.bq.defined()) q = q + lw.bq, k = k + lw.bk, v = v + lw.bv;
    q = q.view({T, c.n_heads, c.head_dim});
    k = k.view({T, c.n_kv_heads, c.head_dim});
    v = v.view({T, c.n_kv_heads, c.head_dim});
    if (c.qk_norm) q = ref_norm(q, lw.q_norm, c.norm_eps), k = ref_norm(k, lw.k_norm, c.norm_eps);
    q = ref_rope(q, c, 0);
    k = ref_rope(k, c, 0).repeat_interleave(G, 1);
    v = v.repeat_interleave(G, 1);
    at::Tensor s = at::einsum("thd,shd->hts", {q, k}) / std::sqrt(static_cast<double>(c.head_dim));
    s = s.masked_fill(at::ones({T, T}, at::kBool).triu(1), -INFINITY);
    at::Tensor y = at::einsum("hts,shd->thd", {at::softmax(s, -1), v}).reshape({T, -1});
    x = x + at::matmul(y, lw.wo.t());
    h = ref_norm(x, lw.ffn_norm, c.norm_eps);
    x = x + at::matmul(at::silu(at::matmul(h, lw.w_gate.t())) * at::matmul(h, lw.w_up.t()), lw.w_down.t());
  }
  return at::matmul(ref_norm(x, w.norm, c.norm_eps), w.output.t());
}

LoadedModel random_model(ModelConfig c, uint64_t seed) {
  at::manual_seed(seed);
  auto r = [](std::vector<int64_t> shape, double s = 0.2) { return at::randn(shape) * s; };
  LoadedModel m;
  m.config = c;
  const int64_t D = c.dim, q = c.n_heads * c.head_dim, kv = c.n_kv_heads * c.head_dim, F = c.hidden_dim;
  m.weights.tok_embeddings = r({c.vocab_size, D}, 1.0);
  for (int64_t l = 0; l < c.n_layers; ++l) {
    LayerWeights lw;
    lw.attn_norm = 1 + r({D}, 0.1);
    lw.ffn_norm = 1 + r({D}, 0.1);
    lw.wq = r({q, D}), lw.wk = r({kv, D}), lw.wv = r({kv, D}), lw.wo = r({D, q});
    lw.w_gate = r({F, D}), lw.w_up = r({F, D}), lw.w_down = r({D, F});
    if (c.qkv_bias) lw.bq = r({q}), lw.bk = r({kv}), lw.bv = r({kv});
    if (c.qk_norm) lw.q_norm = 1 + r({c.head_dim}, 0.1), lw.k_norm = 1 + r({c.head_dim}, 0.1);
    m.weights.layers.push_back(lw);
  }
  m.weights.norm = 1 + r({D}, 0.1);
  m.weights.output = c.tied_embeddings ? m.weights.tok_embeddings : r({c.vocab_size, D});
  return m;
}

ModelConfig small_config() {
  ModelConfig c;
  c.dim = 48, c.hidden_dim = 64, c.n_layers = 2, c.n_heads = 6, c.n_kv_heads = 2, c.head_dim = 16;
  c.vocab_size = 40, c.max_seq_len = 64;
  return c;
}

void expect_matches_reference(const ModelConfig& c, const char* what) {
  c10::InferenceMode guard;
  LoadedModel lm = random_model(c, 7);
  at::Tensor want = ref_forward(lm, {1, 5, 9, 3, 22, 17, 8, 30, 2});
  Transformer m(lm);
  // Prompt of 5, then 4 single-token decode steps.
  KVCache cache = m.new_cache(1, 9);
  std::vector<at::Tensor> parts = {m.forward(at::tensor(std::vector<int64_t>{1, 5, 9, 3, 22}).view({1, 5}), cache)};
  for (int64_t t : {17, 8, 30, 2}) parts.push_back(m.forward(at::full({1, 1}, t, at::kLong), cache));
  at::Tensor got = at::cat(parts, 1)[0];
  EXPECT_LE(max_diff(got, want), 1e-4) << what;
}

TEST(Transformer, MatchesPlainReferenceAcrossArchitectures) {
  ModelConfig c = small_config();
  c.rope_style = RopeStyle::Interleaved;
  expect_matches_reference(c, "llama interleaved");
  c.rope_style = RopeStyle::Half;
  c.tied_embeddings = true;
  expect_matches_reference(c, "llama half, tied");
  c.rope_theta = 500000.0;
  c.rope_scaling.type = "llama3";
  c.rope_scaling.factor = 8.0;
  c.rope_scaling.original_max_position_embeddings = 64;  // so that all three bands occur
  expect_matches_reference(c, "llama3 scaling");
  ModelConfig q2 = small_config();
  q2.arch = Arch::Qwen2, q2.qkv_bias = true, q2.rope_theta = 1e6;
  expect_matches_reference(q2, "qwen2 biases");
  ModelConfig q3 = small_config();
  q3.arch = Arch::Qwen3, q3.qk_norm = true, q3.head_dim = 20;  // head_dim != dim / n_heads
  expect_matches_reference(q3, "qwen3 q/k norm");
}

TEST(Transformer, HalfRopeWithPermutedRowsEqualsInterleaved) {
  // `cartridge convert` relies on this: permuting each head's rows of wq/wk
  // from (0,1),(2,3).. pairs to (i, i+hd/2) pairs leaves the logits unchanged.
  c10::InferenceMode guard;
  LoadedModel a = stories();
  LoadedModel b = stories();
  const int64_t hd = b.config.head_dim;
  std::vector<int64_t> order;
  for (int64_t i = 0; i < hd / 2; ++i) order.push_back(2 * i);
  for (int64_t i = 0; i < hd / 2; ++i) order.push_back(2 * i + 1);
  auto permute = [&](const at::Tensor& w, int64_t heads) {
    std::vector<int64_t> rows;
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t o : order) rows.push_back(h * hd + o);
    return w.index_select(0, at::tensor(rows, at::kLong));
  };
  for (auto& l : b.weights.layers) {
    l.wq = permute(l.wq, b.config.n_heads);
    l.wk = permute(l.wk, b.config.n_kv_heads);
  }
  b.config.rope_style = RopeStyle::Half;
  Transformer ma(std::move(a)), mb(std::move(b));
  const auto ids = long_text_tokens();
  EXPECT_LE(max_diff(prompt_logits(ma, ids, 50), prompt_logits(mb, ids, 50)), 1e-4);
}

TEST(Rope, Llama3ScalingKeepsHighAndDividesLowFrequencies) {
  ModelConfig c = small_config();
  c.head_dim = 64, c.rope_theta = 500000.0;
  at::Tensor plain = rope_inv_freq(c);
  c.rope_scaling.type = "llama3";
  c.rope_scaling.factor = 32.0;
  at::Tensor scaled = rope_inv_freq(c);
  const double hi = 8192.0 / 4.0, lo = 8192.0 / 1.0;
  int bands[3] = {0, 0, 0};
  for (int64_t i = 0; i < 32; ++i) {
    const double f = plain[i].item<double>(), g = scaled[i].item<double>(), wavelen = 2 * M_PI / f;
    if (wavelen < hi) {
      EXPECT_DOUBLE_EQ(g, f);
      ++bands[0];
    } else if (wavelen > lo) {
      EXPECT_NEAR(g, f / 32.0, 1e-12);
      ++bands[2];
    } else {
      EXPECT_TRUE(g < f && g > f / 32.0);
      ++bands[1];
    }
  }
  EXPECT_GT(bands[0], 0);
  EXPECT_GT(bands[1], 0);
  EXPECT_GT(bands[2], 0);
  c.rope_scaling.type = "yarn";
  EXPECT_THROW(rope_inv_freq(c), Unsupported);
}

}  // namespace
}  // namespace cdb
