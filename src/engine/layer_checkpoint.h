// Activation checkpointing: a function whose intermediate activations are
// not kept for the backward pass, but recomputed there.
//
// Training a Cartridge back-propagates through every layer of the frozen
// model to reach the Cartridge's keys and values, so by default autograd
// keeps each layer's activations (attention scores included) for all
// packed tokens at once. checkpointed() keeps only each layer's inputs:
// memory falls from O(layers x activations) to O(layers x inputs + one
// layer's activations), for one more forward of each layer in the backward
// pass (about a third more compute).
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <vector>

namespace cdb {

using RecomputeFn = std::function<at::Tensor(const std::vector<at::Tensor>& inputs)>;

// fn(inputs), differentiable with respect to those inputs that require
// grad (undefined inputs are allowed and get no grad). fn must be a pure
// function of its inputs, run twice with equal results; it may capture
// tensors that need no grad (weights, masks, RoPE tables), which must stay
// alive and unchanged until the backward pass.
at::Tensor checkpointed(RecomputeFn fn, const std::vector<at::Tensor>& inputs);

}  // namespace cdb
