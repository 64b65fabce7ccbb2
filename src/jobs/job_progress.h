// What a running job reports: to the jobs row (SHOW JOBS), and to whoever
// waits on it (WAIT JOB, TRAIN ... WAIT) through a callback.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <string>

#include "storage/catalog_states.h"

namespace cdb {

struct JobProgress {
  int64_t job = 0;
  JobState state = JobState::Queued;
  std::string phase;  // while running: "synthesizing", "training" or "saving"
  double fraction = 0;  // of the whole job, 0..1
  int64_t step = 0;     // training steps done
  int64_t total_steps = 0;
  double loss = std::numeric_limits<double>::quiet_NaN();  // of the last step
  double tokens_per_s = 0;
  double eta_s = 0;
  bool checkpointed = false;  // a checkpoint of this step is saved: a crash resumes here
  std::string message;        // one line for people
};

using ProgressCallback = std::function<void(const JobProgress&)>;

}  // namespace cdb
