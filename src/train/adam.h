// Adam over a fixed list of tensors, written out by hand so that its whole
// state (two moments per tensor and the step count) is plain data that a
// checkpoint saves and restores exactly.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace cdb {

struct AdamOptions {
  double lr = 2e-2;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
};

class Adam {
 public:
  // Moments start at zero, shaped like `params`.
  Adam(const std::vector<at::Tensor>& params, AdamOptions options);

  // params[i] -= lr * mhat / (sqrt(vhat) + eps), in place and outside
  // autograd; grads[i] may be undefined (treated as zero).
  void step(const std::vector<at::Tensor>& params, const std::vector<at::Tensor>& grads);

  int64_t steps() const { return t_; }
  const std::vector<at::Tensor>& first_moments() const { return m_; }
  const std::vector<at::Tensor>& second_moments() const { return v_; }
  // Restores a saved state; InvalidArgument if shapes differ.
  void restore(int64_t steps, const std::vector<at::Tensor>& m, const std::vector<at::Tensor>& v);

 private:
  AdamOptions opt_;
  int64_t t_ = 0;
  std::vector<at::Tensor> m_, v_;
};

}  // namespace cdb
