// Ctrl-C while a statement runs cancels that statement, not the shell: a
// SIGINT handler only sets a flag, which the statement's is_cancelled
// callback (or the line reader, at the prompt) reads. The flag is the one
// piece of process-wide state: a signal handler can reach nothing else.
#pragma once

#include <csignal>

namespace cdb::shell {

// Installs the SIGINT handler for its lifetime and restores the previous
// disposition afterwards. One at a time.
class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

 private:
  struct sigaction previous_ {};
};

// True once Ctrl-C was pressed since the last clear_interrupt().
bool interrupted();
void clear_interrupt();

}  // namespace cdb::shell
