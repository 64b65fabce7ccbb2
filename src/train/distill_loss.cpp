#include "train/distill_loss.h"

#include <ATen/ATen.h>

namespace cdb {

at::Tensor distill_loss_sum(const at::Tensor& logits, const at::Tensor& topk_ids,
                            const at::Tensor& topk_logprobs, const at::Tensor& mask) {
  at::Tensor logq = at::log_softmax(logits.to(at::kFloat), -1);
  at::Tensor picked = logq.gather(-1, topk_ids);             // [B, T, k]
  at::Tensor per_pos = -(topk_logprobs.exp() * picked).sum(-1);  // [B, T]
  return (per_pos * mask).sum();
}

}  // namespace cdb
