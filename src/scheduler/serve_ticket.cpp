#include "scheduler/serve_request.h"

namespace cdb {

bool ServeTicket::wait_for(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return done_; });
}

ServeResult ServeTicket::wait() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return done_; });
  if (error_) std::rethrow_exception(error_);
  return result_;
}

void ServeTicket::finish(ServeResult result, std::exception_ptr error) {
  {
    std::lock_guard lock(mu_);
    if (done_) return;
    result_ = std::move(result);
    error_ = std::move(error);
    done_ = true;
  }
  cv_.notify_all();
}

}  // namespace cdb
