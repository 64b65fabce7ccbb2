#include "train/adam.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <cmath>

#include "common/error.h"

namespace cdb {

Adam::Adam(const std::vector<at::Tensor>& params, AdamOptions options) : opt_(options) {
  for (const auto& p : params) {
    m_.push_back(at::zeros_like(p, p.options().requires_grad(false)));
    v_.push_back(at::zeros_like(p, p.options().requires_grad(false)));
  }
}

void Adam::step(const std::vector<at::Tensor>& params, const std::vector<at::Tensor>& grads) {
  if (params.size() != m_.size() || grads.size() != m_.size())
    throw InvalidArgument("Adam::step: expected " + std::to_string(m_.size()) + " params and grads");
  c10::NoGradGuard no_grad;
  ++t_;
  const double bc1 = 1.0 - std::pow(opt_.beta1, static_cast<double>(t_));
  const double bc2 = 1.0 - std::pow(opt_.beta2, static_cast<double>(t_));
  for (size_t i = 0; i < params.size(); ++i) {
    if (!grads[i].defined()) continue;
    m_[i].mul_(opt_.beta1).add_(grads[i], 1.0 - opt_.beta1);
    v_[i].mul_(opt_.beta2).addcmul_(grads[i], grads[i], 1.0 - opt_.beta2);
    at::Tensor denom = (v_[i] / bc2).sqrt_().add_(opt_.eps);
    params[i].addcdiv_(m_[i], denom, -opt_.lr / bc1);
  }
}

void Adam::restore(int64_t steps, const std::vector<at::Tensor>& m, const std::vector<at::Tensor>& v) {
  if (m.size() != m_.size() || v.size() != v_.size())
    throw InvalidArgument("Adam::restore: expected " + std::to_string(m_.size()) + " moments per kind");
  for (size_t i = 0; i < m_.size(); ++i) {
    if (!m[i].sizes().equals(m_[i].sizes()) || !v[i].sizes().equals(v_[i].sizes()))
      throw InvalidArgument("Adam::restore: moment " + std::to_string(i) + " has the wrong shape");
    m_[i].copy_(m[i]);
    v_[i].copy_(v[i]);
  }
  t_ = steps;
}

}  // namespace cdb
