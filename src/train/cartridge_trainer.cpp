#include "train/cartridge_trainer.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <torch/autograd.h>

#include <algorithm>
#include <chrono>

#include "common/error.h"
#include "common/hash.h"
#include "engine/transformer.h"
#include "train/data_order.h"
#include "train/distill_loss.h"
#include "train/synthetic_dataset.h"
#include "train/training_checkpoint.h"

namespace cdb {
namespace {

std::vector<std::vector<at::Tensor>> split_sink(const std::vector<at::Tensor>& ts, int64_t s) {
  std::vector<at::Tensor> sink, rest;
  for (const auto& t : ts) {
    at::Tensor f = t.to(at::kFloat);
    sink.push_back(f.narrow(1, 0, s).clone());
    rest.push_back(f.narrow(1, s, f.size(1) - s).clone());
  }
  return {sink, rest};
}

std::string make_fingerprint(const SyntheticDataset& d, const TrainOptions& o, const Cartridge& init) {
  uint64_t h = 0;
  for (const auto& e : d.examples) {
    h ^= xxh3_64(e.tokens.data(), e.tokens.size() * sizeof(int32_t)) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h ^= xxh3_64(e.topk_logprobs.data(), e.topk_logprobs.size() * sizeof(float)) + (h << 6) + (h >> 2);
  }
  char buf[256];
  std::snprintf(buf, sizeof buf, "data=%s k=%lld n=%zu p=%lld steps=%lld bs=%lld acc=%lld lr=%.9g b1=%.9g b2=%.9g eps=%.9g seed=%llu sink=%d pack=%lld",
                hex64(h).c_str(), static_cast<long long>(d.top_k), d.examples.size(),
                static_cast<long long>(init.tokens()), static_cast<long long>(o.steps),
                static_cast<long long>(o.batch_size), static_cast<long long>(o.grad_accum), o.adam.lr,
                o.adam.beta1, o.adam.beta2, o.adam.eps, static_cast<unsigned long long>(o.seed),
                o.freeze_sink ? 1 : 0, o.pack ? static_cast<long long>(std::max<int64_t>(o.pack_tokens, 1)) : 0LL);
  return buf;
}

std::vector<at::Tensor> make_leaves(const std::vector<at::Tensor>& k, const std::vector<at::Tensor>& v) {
  std::vector<at::Tensor> out;
  for (const auto& t : k) out.push_back(t.clone().set_requires_grad(true));
  for (const auto& t : v) out.push_back(t.clone().set_requires_grad(true));
  return out;
}

}  // namespace

Cartridge initial_cartridge(Transformer& model, const std::vector<int32_t>& corpus_with_bos, int64_t p) {
  if (p < 1 || static_cast<int64_t>(corpus_with_bos.size()) < p)
    throw InvalidArgument("a Cartridge of " + std::to_string(p) + " tokens needs a corpus of at least " +
                          std::to_string(p) + " tokens (BOS included); the corpus has " +
                          std::to_string(corpus_with_bos.size()));
  std::vector<int32_t> head(corpus_with_bos.begin(), corpus_with_bos.begin() + p);
  at::InferenceMode guard;
  Cartridge c = model.prefill_cartridge(head);
  // Out of inference mode: these become trainable leaves later.
  Cartridge out;
  for (auto& k : c.keys) out.keys.push_back(k.clone());
  for (auto& v : c.values) out.values.push_back(v.clone());
  return out;
}

CartridgeTrainer::CartridgeTrainer(Transformer& model, const SyntheticDataset& data, const Cartridge& init,
                                   TrainOptions options)
    : model_(model), data_(data), opt_(options), adam_({}, options.adam) {
  if (data.examples.empty()) throw InvalidArgument("CartridgeTrainer: the dataset has no examples");
  data.validate("training dataset");
  if (init.empty()) throw InvalidArgument("CartridgeTrainer: the initial Cartridge is empty");
  if (opt_.steps < 1 || opt_.batch_size < 1 || opt_.grad_accum < 1)
    throw InvalidArgument("CartridgeTrainer: steps, batch_size and grad_accum must be >= 1");
  const int64_t s = opt_.freeze_sink ? 1 : 0;
  if (init.tokens() <= s) throw InvalidArgument("CartridgeTrainer: a Cartridge of 1 token has nothing to train besides its sink");
  Cartridge cpu;
  {
    // A Cartridge made under InferenceMode cannot join autograd; copy it.
    c10::NoGradGuard ng;
    for (const auto& k : init.keys) cpu.keys.push_back(k.detach().to(model.device(), at::kFloat).clone());
    for (const auto& v : init.values) cpu.values.push_back(v.detach().to(model.device(), at::kFloat).clone());
  }
  auto ks = split_sink(cpu.keys, s), vs = split_sink(cpu.values, s);
  sink_k_ = ks[0];
  sink_v_ = vs[0];
  params_ = make_leaves(ks[1], vs[1]);
  adam_ = Adam(params_, opt_.adam);
  fingerprint_ = make_fingerprint(data, opt_, init);
}

void CartridgeTrainer::use_checkpoints(ArtifactStore& store, std::string prefix) {
  store_ = &store;
  prefix_ = std::move(prefix);
}

Cartridge CartridgeTrainer::assemble() const {
  Cartridge c;
  const size_t L = sink_k_.size();
  for (size_t l = 0; l < L; ++l) {
    c.keys.push_back(sink_k_[l].size(1) ? at::cat({sink_k_[l], params_[l]}, 1) : params_[l]);
    c.values.push_back(sink_v_[l].size(1) ? at::cat({sink_v_[l], params_[L + l]}, 1) : params_[L + l]);
  }
  return c;
}

Cartridge CartridgeTrainer::current() const {
  c10::NoGradGuard ng;
  Cartridge out;
  Cartridge c = assemble();
  for (auto& t : c.keys) out.keys.push_back(t.detach().clone());
  for (auto& t : c.values) out.values.push_back(t.detach().clone());
  return out;
}

double CartridgeTrainer::step_once(int64_t step, int64_t* tokens_out) {
  const int64_t B = opt_.batch_size, A = opt_.grad_accum, k = data_.top_k;
  const int64_t n = static_cast<int64_t>(data_.examples.size());
  auto idx = sample_indices(opt_.seed, n, step * A * B, A * B);
  int64_t total_tokens = 0;
  for (int64_t i : idx) total_tokens += static_cast<int64_t>(data_.examples[static_cast<size_t>(i)].tokens.size());
  const int64_t room = model_.config().max_seq_len - (sink_k_[0].size(1) + params_[0].size(1));
  for (auto& p : params_) p.mutable_grad() = at::Tensor();
  double loss_total = 0;
  for (int64_t a = 0; a < A; ++a) {
    // Packing, first fit in data order: rows of at most `cap` tokens, each
    // conversation whole in one row (cut to the window if it is longer).
    std::vector<const SyntheticExample*> ex;
    std::vector<int64_t> len;  // tokens of each conversation that are read
    for (int64_t b = 0; b < B; ++b) {
      ex.push_back(&data_.examples[static_cast<size_t>(idx[a * B + b])]);
      len.push_back(std::min<int64_t>(static_cast<int64_t>(ex.back()->tokens.size()), room));
    }
    const int64_t longest = *std::max_element(len.begin(), len.end());
    const int64_t cap = opt_.pack ? std::min(std::max(longest, opt_.pack_tokens), room) : longest;
    std::vector<std::vector<size_t>> rows;
    std::vector<int64_t> used;
    for (size_t e = 0; e < ex.size(); ++e) {
      size_t r = 0;
      while (r < rows.size() && (!opt_.pack || used[r] + len[e] > cap)) ++r;
      if (r == rows.size()) {
        rows.emplace_back();
        used.push_back(0);
      }
      rows[r].push_back(e);
      used[r] += len[e];
    }
    const int64_t R = static_cast<int64_t>(rows.size()), T = *std::max_element(used.begin(), used.end());
    at::Tensor tok = at::zeros({R, T}, at::kLong), seg = at::full({R, T}, -1, at::kLong);
    at::Tensor ids = at::zeros({R, T, k}, at::kLong), lps = at::zeros({R, T, k}, at::kFloat);
    at::Tensor mask = at::zeros({R, T}, at::kFloat);
    auto tk = tok.accessor<int64_t, 2>();
    auto sk = seg.accessor<int64_t, 2>();
    auto ik = ids.accessor<int64_t, 3>();
    auto lk = lps.accessor<float, 3>();
    auto mk = mask.accessor<float, 2>();
    for (int64_t r = 0; r < R; ++r) {
      int64_t at_t = 0;
      for (size_t e : rows[static_cast<size_t>(r)]) {
        const SyntheticExample& x = *ex[e];
        for (int64_t t = 0; t < len[e]; ++t, ++at_t) {
          tk[r][at_t] = x.tokens[static_cast<size_t>(t)];
          sk[r][at_t] = static_cast<int64_t>(e);
          mk[r][at_t] = 1.f;
          for (int64_t j = 0; j < k; ++j) {
            ik[r][at_t][j] = x.topk_ids[static_cast<size_t>(t * k + j)];
            lk[r][at_t][j] = x.topk_logprobs[static_cast<size_t>(t * k + j)];
          }
        }
      }
    }
    Cartridge cart = assemble();
    KVCache cache = model_.new_cache(R, T);
    at::Tensor logits = model_.forward(tok.to(model_.device()), cache, &cart, false, seg,
                                       opt_.activation_checkpointing);
    at::Tensor loss = distill_loss_sum(logits, ids.to(model_.device()), lps.to(model_.device()),
                                       mask.to(model_.device())) /
                      static_cast<double>(total_tokens);
    loss.backward();
    loss_total += loss.item<double>();
  }
  std::vector<at::Tensor> grads;
  for (auto& p : params_) grads.push_back(p.grad());
  adam_.step(params_, grads);
  *tokens_out = total_tokens;
  return loss_total;
}

void CartridgeTrainer::save(int64_t step, const std::vector<double>& losses) {
  if (!store_) return;
  TrainingCheckpoint c;
  c.run_fingerprint = fingerprint_;
  c.step = step;
  c.losses = losses;
  {
    c10::NoGradGuard ng;
    c.cartridge = assemble();
  }
  c.adam_steps = adam_.steps();
  c.adam_m = adam_.first_moments();
  c.adam_v = adam_.second_moments();
  save_checkpoint(*store_, prefix_, c);
}

TrainResult CartridgeTrainer::train(const TrainCallback& callback) {
  using clock = std::chrono::steady_clock;
  TrainResult r;
  int64_t step = 0;
  if (store_) {
    if (auto c = load_checkpoint(*store_, prefix_)) {
      if (c->run_fingerprint != fingerprint_)
        throw InvalidArgument("the checkpoint under '" + prefix_ + "' belongs to another run (" + c->run_fingerprint +
                              "), not this one (" + fingerprint_ + "); use another prefix or delete it");
      const int64_t s = sink_k_[0].size(1);
      c10::NoGradGuard ng;
      const size_t L = sink_k_.size();
      for (size_t l = 0; l < L; ++l) {
        at::Tensor k = c->cartridge.keys[l].to(model_.device()), v = c->cartridge.values[l].to(model_.device());
        sink_k_[l] = k.narrow(1, 0, s).clone();
        sink_v_[l] = v.narrow(1, 0, s).clone();
        params_[l].copy_(k.narrow(1, s, k.size(1) - s));
        params_[L + l].copy_(v.narrow(1, s, v.size(1) - s));
      }
      std::vector<at::Tensor> m, v;
      for (auto& t : c->adam_m) m.push_back(t.to(model_.device()));
      for (auto& t : c->adam_v) v.push_back(t.to(model_.device()));
      adam_.restore(c->adam_steps, m, v);
      step = c->step;
      r.losses = c->losses;
      r.resumed_from = step;
    }
  }
  const auto t0 = clock::now();
  int64_t tokens_seen = 0;
  const int64_t first = step;
  while (step < opt_.steps) {
    int64_t toks = 0;
    double loss = step_once(step, &toks);
    ++step;
    tokens_seen += toks;
    r.losses.push_back(loss);
    bool ckpt = store_ && ((opt_.checkpoint_every > 0 && step % opt_.checkpoint_every == 0) || step == opt_.steps);
    if (ckpt) save(step, r.losses);
    if (callback) {
      double el = std::chrono::duration<double>(clock::now() - t0).count();
      TrainProgress p;
      p.step = step;
      p.total_steps = opt_.steps;
      p.loss = loss;
      p.tokens_per_s = el > 0 ? static_cast<double>(tokens_seen) / el : 0;
      p.eta_s = el / static_cast<double>(step - first) * static_cast<double>(opt_.steps - step);
      p.checkpointed = ckpt;
      if (!callback(p)) {
        if (!ckpt) save(step, r.losses);
        r.cancelled = true;
        break;
      }
    }
  }
  r.wall_s = std::chrono::duration<double>(clock::now() - t0).count();
  r.cartridge = current();
  return r;
}

}  // namespace cdb
