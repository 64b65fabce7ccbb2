#include "engine/generator.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>

#include "common/error.h"

namespace cdb {

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::StopToken: return "stop_token";
    case FinishReason::StopString: return "stop_string";
    case FinishReason::Length: return "length";
  }
  return "?";
}

namespace {

// One sequence's progress: its sampler, the text held back because it might
// start a stop string, and whether it is done.
struct Sequence {
  Sampler sampler;
  int32_t prev_id;
  std::string pending;
  bool done = false;
};

// Length of the longest suffix of `text` that is a proper prefix of a stop string.
size_t held_back(std::string_view text, const std::vector<std::string>& stops) {
  size_t keep = 0;
  for (const std::string& s : stops)
    for (size_t k = std::min(s.size() - 1, text.size()); k > keep; --k)
      if (text.substr(text.size() - k) == std::string_view(s).substr(0, k)) {
        keep = k;
        break;
      }
  return keep;
}

}  // namespace

std::vector<Generation> generate(Transformer& model, const Tokenizer& tokenizer,
                                 const std::vector<std::vector<int32_t>>& prompts, const Cartridge* prefix,
                                 const GenerateOptions& options, const TokenCallback& on_token) {
  const int64_t B = static_cast<int64_t>(prompts.size());
  std::vector<Generation> out(prompts.size());
  if (B == 0 || options.max_tokens <= 0) return out;
  for (const std::string& s : options.stop_strings)
    if (s.empty()) throw InvalidArgument("generate: empty stop string");
  std::vector<int32_t> stop_ids = options.stop_tokens;
  if (options.stop_at_eos)
    for (int64_t e : model.config().eos_ids) stop_ids.push_back(static_cast<int32_t>(e));

  c10::InferenceMode inference;
  int64_t longest = 0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    if (prompts[i].empty()) throw InvalidArgument("generate: prompt " + std::to_string(i) + " is empty");
    longest = std::max<int64_t>(longest, static_cast<int64_t>(prompts[i].size()));
  }
  // Left padding aligns every prompt's last token in the same slot, so one
  // prefill call yields each sequence's next-token logits.
  at::Tensor tokens = at::zeros({B, longest}, at::kLong);
  at::Tensor padding = at::empty({B}, at::kLong);
  auto tok = tokens.accessor<int64_t, 2>();
  auto pad_of = padding.accessor<int64_t, 1>();
  std::vector<Sequence> seqs;
  for (int64_t b = 0; b < B; ++b) {
    const auto& p = prompts[static_cast<size_t>(b)];
    const int64_t pad = longest - static_cast<int64_t>(p.size());
    pad_of[b] = pad;
    for (size_t i = 0; i < p.size(); ++i) tok[b][pad + static_cast<int64_t>(i)] = p[i];
    SamplingParams sp = options.sampling;
    sp.seed += static_cast<uint64_t>(b);
    seqs.push_back(Sequence{Sampler(sp), p.back(), {}, false});
  }
  KVCache cache = model.new_cache(B, longest + options.max_tokens);
  bool any_padding = false;
  for (int64_t b = 0; b < B; ++b) any_padding |= prompts[static_cast<size_t>(b)].size() != static_cast<size_t>(longest);
  if (any_padding) cache.set_padding(padding);

  auto emit = [&](size_t s, int32_t id, std::string_view text) {
    out[s].text += text;
    if (on_token) on_token(s, id, text);
  };
  auto flush = [&](size_t s) {
    if (!seqs[s].pending.empty()) emit(s, -1, seqs[s].pending);
    seqs[s].pending.clear();
  };

  std::vector<size_t> rows(prompts.size());  // cache row -> sequence
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = i;
  at::Tensor logits = model.forward(tokens, cache, prefix, /*last_only=*/true);
  while (true) {
    at::Tensor cpu = logits.select(1, 0).to(at::kCPU, at::kFloat).contiguous();
    const int64_t vocab = cpu.size(1);
    std::vector<int64_t> keep, next;
    for (size_t r = 0; r < rows.size(); ++r) {
      const size_t s = rows[r];
      Sequence& q = seqs[s];
      Generation& g = out[s];
      const int32_t id = q.sampler.sample(cpu.data_ptr<float>() + static_cast<int64_t>(r) * vocab, vocab);
      if (std::find(stop_ids.begin(), stop_ids.end(), id) != stop_ids.end()) {
        g.finish = FinishReason::StopToken;
        flush(s);
        continue;
      }
      g.tokens.push_back(id);
      q.pending += tokenizer.token_bytes(id, q.prev_id);
      q.prev_id = id;
      size_t stop_at = std::string::npos;
      for (const std::string& st : options.stop_strings) stop_at = std::min(stop_at, q.pending.find(st));
      if (stop_at != std::string::npos) {
        emit(s, id, std::string_view(q.pending).substr(0, stop_at));
        q.pending.clear();
        g.finish = FinishReason::StopString;
        continue;
      }
      const bool at_length = static_cast<int64_t>(g.tokens.size()) >= options.max_tokens;
      const size_t hold = at_length ? 0 : held_back(q.pending, options.stop_strings);
      emit(s, id, std::string_view(q.pending).substr(0, q.pending.size() - hold));
      q.pending.erase(0, q.pending.size() - hold);
      if (at_length) {
        g.finish = FinishReason::Length;
        continue;
      }
      keep.push_back(static_cast<int64_t>(r));
      next.push_back(id);
    }
    if (keep.empty()) break;
    if (keep.size() != rows.size()) {
      cache.select_rows(at::tensor(keep, at::kLong));
      std::vector<size_t> kept;
      for (int64_t r : keep) kept.push_back(rows[static_cast<size_t>(r)]);
      rows = std::move(kept);
    }
    at::Tensor step = at::tensor(next, at::kLong).view({static_cast<int64_t>(next.size()), 1});
    logits = model.forward(step, cache, prefix, /*last_only=*/true);
  }
  return out;
}

Generation generate(Transformer& model, const Tokenizer& tokenizer, const std::vector<int32_t>& prompt,
                    const Cartridge* prefix, const GenerateOptions& options, const TokenCallback& on_token) {
  return std::move(generate(model, tokenizer, std::vector<std::vector<int32_t>>{prompt}, prefix, options,
                            on_token)
                       .front());
}

}  // namespace cdb
