// The self-study objective: cross-entropy from the teacher's top-k
// distribution to the student's full distribution,
//   loss(position) = - sum_{j<k} p_teacher(id_j) * log q_student(id_j),
// with q the student's log-softmax over the whole vocabulary. The teacher's
// top-k mass is not renormalized (as in the paper). With k = 1 and log-prob 0
// it is the next-token-prediction loss.
#pragma once

#include <ATen/core/Tensor.h>

namespace cdb {

// logits [B, T, V] (student), topk_ids [B, T, k] int64, topk_logprobs
// [B, T, k] float, mask [B, T] float (1: a real position). Returns the SUM
// over masked-in positions (a 0-dim tensor), so that callers average over
// exactly the tokens of a whole (accumulated) step.
at::Tensor distill_loss_sum(const at::Tensor& logits, const at::Tensor& topk_ids,
                            const at::Tensor& topk_logprobs, const at::Tensor& mask);

}  // namespace cdb
