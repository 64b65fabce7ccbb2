// The identity of a model as a function: a cartridge trained on one model is
// stored with this fingerprint and refused by any model whose fingerprint
// differs. It hashes (xxh3-128) the architecture, every dimension, the RoPE
// settings, the tokenizer's fingerprint, and a fixed sample of weight values
// (strided elements of every tensor, as f32). Hashing samples rather than all
// bytes keeps it cheap on an 8B model (it touches a few pages per tensor)
// while any retrained or re-seeded checkpoint still differs.
//
// Deliberately not invariant: a llama2.c file and its HF conversion compute
// the same function with permuted wq/wk rows and different RoPE styles; they
// get different fingerprints. So do the f32 and bf16 copies of one model,
// whose outputs differ in rounding. A cartridge is used with the exact
// weights it was trained with.
#pragma once

#include <string>
#include <string_view>

#include "engine/model_weights.h"

namespace cdb {

// 32 lowercase hex digits.
std::string model_fingerprint(const LoadedModel& model, std::string_view tokenizer_fingerprint);

}  // namespace cdb
