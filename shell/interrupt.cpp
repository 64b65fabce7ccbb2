#include "shell/interrupt.h"

#include <atomic>

namespace cdb::shell {

namespace {

std::atomic<bool> g_interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the flag is written from a signal handler");

void on_sigint(int) { g_interrupted.store(true, std::memory_order_relaxed); }

}  // namespace

InterruptGuard::InterruptGuard() {
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  // No SA_RESTART: a blocking read or select at the prompt returns EINTR so
  // the line reader notices the interrupt at once.
  sa.sa_flags = 0;
  sigaction(SIGINT, &sa, &previous_);
  clear_interrupt();
}

InterruptGuard::~InterruptGuard() { sigaction(SIGINT, &previous_, nullptr); }

bool interrupted() { return g_interrupted.load(std::memory_order_relaxed); }
void clear_interrupt() { g_interrupted.store(false, std::memory_order_relaxed); }

}  // namespace cdb::shell
