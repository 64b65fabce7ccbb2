#include "engine/layer_checkpoint.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>

#include <memory>

namespace cdb {
namespace {

// The closure travels in the autograd context as a capsule: saved_data only
// holds IValues.
struct Recompute : torch::CustomClassHolder {
  explicit Recompute(RecomputeFn f) : fn(std::move(f)) {}
  RecomputeFn fn;
};

class Checkpoint : public torch::autograd::Function<Checkpoint> {
 public:
  // Runs with grad off (autograd's rule for a Function's forward): nothing
  // of fn's graph is kept.
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, at::TensorList inputs,
                            c10::intrusive_ptr<Recompute> recompute) {
    std::vector<at::Tensor> in(inputs.begin(), inputs.end());
    // Saved as variables, so that autograd refuses a backward after one was
    // changed in place.
    ctx->save_for_backward(in);
    at::Tensor out = recompute->fn(in);
    ctx->saved_data["fn"] = c10::IValue::make_capsule(std::move(recompute));
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_out) {
    auto recompute = c10::static_intrusive_pointer_cast<Recompute>(ctx->saved_data.at("fn").toCapsule());
    const torch::autograd::variable_list saved = ctx->get_saved_variables();
    const size_t n = saved.size();
    std::vector<at::Tensor> in(n);
    std::vector<at::Tensor> wanted;
    std::vector<size_t> wanted_at;
    for (size_t i = 0; i < n; ++i) {
      const at::Tensor& t = saved[i];
      if (!t.defined()) continue;
      const bool grad = t.requires_grad();
      in[i] = t.detach().requires_grad_(grad);
      if (grad) {
        wanted.push_back(in[i]);
        wanted_at.push_back(i);
      }
    }
    torch::autograd::variable_list grads(n + 1);  // + the closure, which has none
    if (wanted.empty()) return grads;
    at::Tensor out;
    {
      // Backward runs with grad off unless create_graph; the recomputation
      // needs its graph.
      at::AutoGradMode enable(true);
      out = recompute->fn(in);
    }
    auto g = torch::autograd::grad({out}, wanted, {grad_out[0]}, /*retain_graph=*/false, /*create_graph=*/false,
                                   /*allow_unused=*/true);
    for (size_t j = 0; j < wanted.size(); ++j) grads[wanted_at[j]] = g[j];
    return grads;
  }
};

}  // namespace

at::Tensor checkpointed(RecomputeFn fn, const std::vector<at::Tensor>& inputs) {
  return Checkpoint::apply(at::TensorList(inputs), c10::make_intrusive<Recompute>(std::move(fn)));
}

}  // namespace cdb
