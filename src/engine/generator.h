// Text generation: one or many sequences, optionally after a shared Cartridge.
//
// Batching: the sequences share the Cartridge by reference (never copied per
// sequence); the KV cache holds only their own tokens. Prompts of different
// lengths are left-padded into one prefill (KVCache padding keeps every
// sequence's positions and attention exactly as if it ran alone). A sequence
// that finishes is dropped from the batch, so it costs nothing afterwards.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/sampler.h"
#include "engine/transformer.h"
#include "engine/tokenizer/tokenizer.h"

namespace cdb {

struct GenerateOptions {
  SamplingParams sampling;  // sequence i of a batch samples with seed sampling.seed + i
  int64_t max_tokens = 256;  // new tokens per sequence
  bool stop_at_eos = true;   // the model's eos_ids end a sequence
  std::vector<int32_t> stop_tokens;        // more tokens that end a sequence
  std::vector<std::string> stop_strings;   // the text ends before the first one
};

enum class FinishReason { StopToken, StopString, Length };
const char* finish_reason_name(FinishReason r);

struct Generation {
  std::vector<int32_t> tokens;  // generated ids, without the stop token
  std::string text;             // their bytes (Tokenizer::token_bytes), cut before a stop string
  FinishReason finish = FinishReason::Length;
};

// Streaming: called for each generated token of sequence `seq`, in order,
// with `text` the bytes that became final with it. Without stop strings that
// is exactly the token's bytes; with them, bytes that might begin a stop
// string are held back and released later (or dropped if they do form one).
// Held-back bytes still pending when a sequence ends by a stop token or
// max_tokens come in one last call with id == -1.
using TokenCallback = std::function<void(size_t seq, int32_t id, std::string_view text)>;

// Generates after each prompt (token ids, BOS included if wanted; non-empty).
// Throws InvalidArgument for empty prompts or stop strings.
std::vector<Generation> generate(Transformer& model, const Tokenizer& tokenizer,
                                 const std::vector<std::vector<int32_t>>& prompts, const Cartridge* prefix,
                                 const GenerateOptions& options, const TokenCallback& on_token = {});

Generation generate(Transformer& model, const Tokenizer& tokenizer, const std::vector<int32_t>& prompt,
                    const Cartridge* prefix, const GenerateOptions& options, const TokenCallback& on_token = {});

}  // namespace cdb
