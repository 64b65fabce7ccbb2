// The engine on a CUDA device, against the CPU reference: fp32 logits, bf16
// generation, a Cartridge prefix; the fused decode-attention kernel against
// LibTorch products, decode() against forward(), CUDA-graph replays against
// eager steps. Runs only where LibTorch has CUDA and a device is present
// (the GPU machines); elsewhere each test is skipped with the reason, since
// there is nothing to compare.
#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/models_dir.h"
#include "engine/decode_attention.h"
#include "engine/decode_graphs.h"
#include "engine/generator.h"
#include "engine/llama2c_loader.h"
#include "engine/load_model.h"
#include "engine/random_model.h"
#include "support/temp_dir.h"

namespace cdb {
namespace {

#define REQUIRE_CUDA() \
  if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device in this LibTorch build or machine"

LoadedModel stories() { return load_llama2c(model_file("stories260K/stories260K.bin")); }

at::Tensor tokens(std::vector<int64_t> ids) {
  const int64_t n = static_cast<int64_t>(ids.size());
  return at::tensor(ids, at::kLong).view({1, n});
}

TEST(Cuda, Fp32LogitsEqualTheCpu) {
  REQUIRE_CUDA();
  c10::InferenceMode guard;
  Transformer cpu(stories()), gpu(stories(), at::Device(at::kCUDA), at::kFloat);
  const at::Tensor t = tokens({1, 403, 407, 261, 378, 280, 262, 399, 431, 261});
  KVCache a = cpu.new_cache(1, 16), b = gpu.new_cache(1, 16);
  at::Tensor la = cpu.forward(t, a), lb = gpu.forward(t, b).cpu();
  EXPECT_TRUE(at::allclose(la, lb, 1e-4, 1e-3)) << (la - lb).abs().max().item<float>();
  // And one decode step on top of the cache.
  at::Tensor da = cpu.forward(tokens({300}), a), db = gpu.forward(tokens({300}), b).cpu();
  EXPECT_TRUE(at::allclose(da, db, 1e-4, 1e-3)) << (da - db).abs().max().item<float>();
}

TEST(Cuda, Bf16GreedyGenerationFollowsTheCpu) {
  REQUIRE_CUDA();
  c10::InferenceMode guard;
  Transformer cpu(stories()), gpu(stories(), at::Device(at::kCUDA), at::kBFloat16);
  auto tok = load_tokenizer(model_file("stories260K/tok512.bin"));
  GenerateOptions o;
  o.sampling.temperature = 0.0f;
  o.max_tokens = 24;
  const std::vector<int32_t> prompt = tok->encode("Once upon a time", /*add_bos=*/true);
  Generation ref = generate(cpu, *tok, prompt, nullptr, o);
  Generation got = generate(gpu, *tok, prompt, nullptr, o);
  // bf16 rounds the logits; a tiny model's greedy path agrees for the first
  // tokens (where the top-2 margin is large) and may drift later.
  ASSERT_GE(got.tokens.size(), 8u);
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(got.tokens[i], ref.tokens[i]) << "token " << i;
}

TEST(Cuda, CartridgePrefixEqualsItsTokensInThePrompt) {
  REQUIRE_CUDA();
  c10::InferenceMode guard;
  Transformer gpu(stories(), at::Device(at::kCUDA), at::kFloat);
  const std::vector<int32_t> corpus = {1, 403, 407, 261, 378, 280, 262, 399};
  Cartridge c = gpu.prefill_cartridge(corpus);
  ASSERT_TRUE(c.keys[0].is_cuda());
  const at::Tensor q = tokens({431, 261, 300});
  KVCache with = gpu.new_cache(1, 8);
  at::Tensor lp = gpu.forward(q, with, &c);
  std::vector<int64_t> all(corpus.begin(), corpus.end());
  all.insert(all.end(), {431, 261, 300});
  KVCache plain = gpu.new_cache(1, 16);
  at::Tensor lf = gpu.forward(tokens(all), plain).narrow(1, 8, 3);
  EXPECT_TRUE(at::allclose(lp.cpu(), lf.cpu(), 1e-4, 1e-3)) << (lp - lf).abs().max().item<float>();
}

// The fused decode-attention kernel against the LibTorch products it
// replaces (computed in fp32 on the same values): every dtype, both head
// sizes, 1 to 8 query heads per KV head, a batch of one (many splits) and
// rows of one key up to the full pool row. The tokens a row may not see, and
// the pool rows past the batch, hold NaN: reading any of them would show.
TEST(Cuda, DecodeAttentionKernelEqualsTheMatmulPath) {
  REQUIRE_CUDA();
  c10::InferenceMode guard;
  at::manual_seed(3);
  struct Shape {
    at::ScalarType type;
    int64_t N, KV, G, hd, capacity;
    double tol;
  };
  const Shape shapes[] = {{at::kFloat, 5, 2, 4, 128, 700, 1e-5},     {at::kBFloat16, 70, 8, 3, 128, 2300, 2e-3},
                          {at::kHalf, 1, 4, 8, 64, 5000, 2e-3},      {at::kBFloat16, 3, 2, 1, 64, 40, 2e-3},
                          {at::kFloat, 16, 2, 2, 64, 300, 1e-5},     {at::kBFloat16, 1, 8, 4, 128, 9000, 2e-3},
                          {at::kHalf, 33, 1, 5, 128, 260, 2e-3}};
  for (const Shape& s : shapes) {
    SCOPED_TRACE(std::string(c10::toString(s.type)) + " N=" + std::to_string(s.N) + " KV=" + std::to_string(s.KV) +
                 " G=" + std::to_string(s.G) + " hd=" + std::to_string(s.hd) + " capacity=" + std::to_string(s.capacity));
    const auto o = at::TensorOptions().device(at::kCUDA).dtype(s.type);
    at::Tensor K = at::randn({s.N + 2, s.KV, s.capacity, s.hd}, o), V = at::randn({s.N + 2, s.KV, s.capacity, s.hd}, o);
    at::Tensor q = at::randn({s.N, s.KV, s.G, s.hd}, o) * (2.0 / std::sqrt(static_cast<double>(s.hd)));
    at::Tensor lengths = at::randint(0, s.capacity, {s.N}, at::kLong);
    lengths[0] = s.capacity - 1;
    if (s.N > 1) lengths[1] = 0;
    const int64_t keys = lengths.max().item<int64_t>() + 1;
    AttentionPartial ref = attend_own_tokens(q.to(at::kFloat).cpu(), K.to(at::kFloat).cpu(), V.to(at::kFloat).cpu(),
                                             lengths, keys, DecodeAttention::kMatmul);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    for (int64_t i = 0; i < s.N; ++i) {
      const int64_t seen = lengths[i].item<int64_t>() + 1;
      K[i].narrow(1, seen, s.capacity - seen).fill_(nan);
      V[i].narrow(1, seen, s.capacity - seen).fill_(nan);
    }
    K.narrow(0, s.N, 2).fill_(nan);
    V.narrow(0, s.N, 2).fill_(nan);
    ASSERT_TRUE(fused_decode_attention_applies(q, K, V));
    for (int unroll : {0, 2, 4}) {  // the default, and both variants of keys per trip
      AttentionPartial got = attend_own_tokens(q, K, V, lengths.cuda(), keys, DecodeAttention::kAuto, unroll);
      ASSERT_EQ(got.out.sizes(), ref.out.sizes());
      ASSERT_EQ(got.lse.sizes(), ref.lse.sizes());
      EXPECT_TRUE(at::allclose(got.out.cpu(), ref.out, s.tol, s.tol))
          << "unroll " << unroll << ": " << (got.out.cpu() - ref.out).abs().max().item<float>();
      EXPECT_TRUE(at::allclose(got.lse.cpu(), ref.lse, s.tol, s.tol))
          << "unroll " << unroll << ": " << (got.lse.cpu() - ref.lse).abs().max().item<float>();
    }
  }
}

// A model whose heads the fused kernel serves (head_dim 64, 3 query heads
// per KV head) on the device, and four sequences prefilled into a KV pool:
// two sharing Cartridge A (or, without a shared group, each with A copied
// into its row), one with B copied into its row, one without.
struct DecodeFixture {
  explicit DecodeFixture(bool shared_group = true) {
    seqs[0].shared = seqs[1].shared = shared_group;
  }
  test::TempDir dir{"cuda-decode"};
  ModelConfig c = [] {
    ModelConfig c = random_model_config("tiny-llama3");
    c.dim = 384, c.n_heads = 6, c.n_kv_heads = 2, c.head_dim = 64, c.hidden_dim = 256, c.weight_dtype = "f32";
    return c;
  }();
  Transformer m = [this] {
    write_random_model(c, 11, dir.path(), 0.1f);
    return Transformer(load_model(dir.path()), at::Device(at::kCUDA), at::kFloat);
  }();
  Cartridge A = m.prefill_cartridge({1, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50});
  Cartridge B = m.prefill_cartridge({1, 300, 301, 302, 303});
  struct Seq {
    std::vector<int64_t> prompt;
    const Cartridge* prefix;
    bool shared;
  };
  std::vector<Seq> seqs = {{{7, 8, 9}, &A, true}, {{10, 11}, &A, true}, {{12, 13, 14, 15}, &B, false},
                           {{16, 17, 18, 19, 20, 21}, nullptr, false}};
  std::vector<int64_t> length, shared_tokens, next;

  static at::Tensor ids(const std::vector<int64_t>& v) {
    return at::tensor(v, at::kLong).view({1, static_cast<int64_t>(v.size())});
  }
  // Prefills every sequence into `pool` (rows 0..3); also records each
  // sequence's state, and into `alone` (when given) its cache run alone.
  void prefill(KVSlots& pool, std::vector<KVCache>* alone = nullptr) {
    length.assign(seqs.size(), 0), shared_tokens.assign(seqs.size(), 0), next.assign(seqs.size(), 0);
    for (size_t i = 0; i < seqs.size(); ++i) {
      const Seq& q = seqs[i];
      const int64_t own = q.prefix && !q.shared ? pool.write_prefix(static_cast<int64_t>(i), *q.prefix) : 0;
      KVCache view = pool.cache(static_cast<int64_t>(i), own);
      at::Tensor last = m.forward(ids(q.prompt), view, q.shared ? q.prefix : nullptr, true);
      if (alone) {
        alone->push_back(m.new_cache(1, 64));
        m.forward(ids(q.prompt), alone->back(), q.prefix, true);
      }
      length[i] = own + static_cast<int64_t>(q.prompt.size());
      shared_tokens[i] = q.shared ? q.prefix->tokens() : 0;
      next[i] = last.argmax(-1).item<int64_t>();
    }
  }
  // The step feeding next[0..n-1].
  DecodeBatch batch(int64_t n) const {
    DecodeBatch b;
    std::vector<int64_t> pos(n), len(length.begin(), length.begin() + n), tok(next.begin(), next.begin() + n);
    for (int64_t i = 0; i < n; ++i) pos[i] = shared_tokens[i] + length[i];
    b.tokens = at::tensor(tok, at::kLong);
    b.lengths = at::tensor(len, at::kLong);
    b.positions = at::tensor(pos, at::kLong);
    b.max_length = *std::max_element(len.begin(), len.end());
    if (seqs[0].shared) b.shared.push_back({&A, at::tensor(std::vector<int64_t>{0, 1}, at::kLong)});
    return b;
  }
};

// decode() on the device, through the kernel, equals each sequence run alone
// through forward(), step after step.
TEST(Cuda, DecodeEqualsEachSequenceAloneThroughTheKernel) {
  REQUIRE_CUDA();
  c10::InferenceMode guard;
  DecodeFixture f;
  KVSlots slots(f.c, 5, 64, f.m.options());
  std::vector<KVCache> alone;
  f.prefill(slots, &alone);
  const int64_t N = static_cast<int64_t>(f.seqs.size());
  for (int step = 0; step < 8; ++step) {
    const at::Tensor logits = f.m.decode(f.batch(N), slots).cpu();
    for (int64_t i = 0; i < N; ++i) {
      const auto& q = f.seqs[static_cast<size_t>(i)];
      at::Tensor ref = f.m.forward(f.ids({f.next[i]}), alone[static_cast<size_t>(i)], q.prefix, true).view({-1}).cpu();
      EXPECT_TRUE(at::allclose(logits[i], ref, 1e-4, 1e-4))
          << "step " << step << " sequence " << i << ": max diff " << (logits[i] - ref).abs().max().item<float>();
      f.length[i] += 1;
      f.next[i] = ref.argmax().item<int64_t>();
    }
  }
  // The kernel served those steps: the pool's tensors qualify.
  const at::Tensor q = at::zeros({N, f.c.n_kv_heads, f.c.n_heads / f.c.n_kv_heads, f.c.head_dim}, f.m.options());
  EXPECT_TRUE(fused_decode_attention_applies(q, slots.keys(0), slots.values(0)));
}

// Steps replayed from a CUDA graph equal eager steps on an identical pool:
// the first step of a shape runs eagerly, the second records it, the rest
// replay it (lengths and tokens change, the graph does not); a new shape (a
// row fewer) starts over; a batch with a shared Cartridge runs eagerly.
TEST(Cuda, DecodeGraphsReplayWhatEagerStepsCompute) {
  REQUIRE_CUDA();
  c10::InferenceMode guard;
  DecodeFixture f(/*shared_group=*/false);
  KVSlots eager_pool(f.c, 5, 64, f.m.options()), graph_pool(f.c, 5, 64, f.m.options());
  f.prefill(graph_pool);
  f.prefill(eager_pool);
  DecodeGraphs graphs(f.m);
  auto step = [&](const DecodeBatch& b, const std::string& what) {
    const at::Tensor want = f.m.decode(b, eager_pool).cpu();
    const at::Tensor got = graphs.decode(b, graph_pool).cpu();
    EXPECT_TRUE(at::allclose(got, want, 1e-5, 1e-5)) << what << ": max diff " << (got - want).abs().max().item<float>();
    for (int64_t i = 0; i < b.tokens.size(0); ++i) {
      f.length[i] += 1;
      f.next[i] = want[i].argmax().item<int64_t>();
    }
  };
  for (int i = 0; i < 6; ++i) step(f.batch(4), "4 rows, step " + std::to_string(i));
  DecodeGraphs::Stats st = graphs.stats();
  EXPECT_FALSE(st.failed);
  EXPECT_EQ(st.eager, 1);
  EXPECT_EQ(st.captures, 1);
  EXPECT_EQ(st.replays, 5);
  for (int i = 0; i < 4; ++i) step(f.batch(3), "3 rows, step " + std::to_string(i));
  DecodeBatch with_shared = f.batch(3);
  with_shared.shared.push_back({&f.B, at::tensor(std::vector<int64_t>{1}, at::kLong)});
  step(with_shared, "a shared Cartridge");
  st = graphs.stats();
  EXPECT_FALSE(st.failed);
  EXPECT_EQ(st.eager, 3);
  EXPECT_EQ(st.captures, 2);
  EXPECT_EQ(st.replays, 8);
}

}  // namespace
}  // namespace cdb
