// The states of the catalog's rows as enums: a job's state, and the status
// of a row that owns blobs. The code holds and compares the enums; the words
// ("queued", "ready", ...) live only in the catalog's columns
// (sql/001_initial.sql) and in what users read (SHOW JOBS, SHOW CARTRIDGES),
// and cross over here.
#pragma once

#include <string_view>

namespace cdb {

// queued -> running -> done, failed or cancelled; a running job goes back
// to queued when its process stops or dies.
enum class JobState { Queued, Running, Done, Failed, Cancelled };

// Done, failed or cancelled: the job will not run again.
inline bool is_finished(JobState state) {
  return state == JobState::Done || state == JobState::Failed || state == JobState::Cancelled;
}

// A document, Cartridge, tokenized corpus or artifact. The tables' CHECKs
// say which may hold which: only Cartridges are ever building, superseded
// or failed.
enum class RowStatus {
  Ready,       // verified and served
  Building,    // a Cartridge whose blobs are still being written
  Damaged,     // a blob failed verification; never served until repaired
  Superseded,  // a Cartridge of an older corpus version, kept while queries use it
  Failed,      // a Cartridge whose build did not finish
};

// Ready or superseded: a Cartridge a query may still be given (a superseded
// version serves the queries that began on it); building, damaged and
// failed ones are never served.
inline bool is_servable(RowStatus status) { return status == RowStatus::Ready || status == RowStatus::Superseded; }

// The catalog's words.
std::string_view to_string(JobState state);
std::string_view to_string(RowStatus status);
// The enum a catalog word names; CorruptData for a word this build does not
// know (a catalog written by a newer one).
JobState job_state_from_string(std::string_view text);
RowStatus row_status_from_string(std::string_view text);

}  // namespace cdb
