#include "storage/catalog_states.h"

#include <string>
#include <utility>

#include "common/error.h"

namespace cdb {

namespace {

template <typename E>
using Words = std::pair<E, std::string_view>[5];

constexpr Words<JobState> kJobStates = {
    {JobState::Queued, "queued"}, {JobState::Running, "running"}, {JobState::Done, "done"},
    {JobState::Failed, "failed"}, {JobState::Cancelled, "cancelled"},
};

constexpr Words<RowStatus> kRowStatuses = {
    {RowStatus::Ready, "ready"},           {RowStatus::Building, "building"}, {RowStatus::Damaged, "damaged"},
    {RowStatus::Superseded, "superseded"}, {RowStatus::Failed, "failed"},
};

template <typename E>
std::string_view word_of(const Words<E>& words, E value) {
  for (const auto& [v, word] : words)
    if (v == value) return word;
  return "unknown";
}

template <typename E>
E value_of(const Words<E>& words, std::string_view text, const char* what) {
  for (const auto& [v, word] : words)
    if (word == text) return v;
  std::string known;
  for (const auto& w : words) known += (known.empty() ? "" : ", ") + std::string(w.second);
  throw CorruptData("the catalog holds a " + std::string(what) + " '" + std::string(text) +
                    "' that this build does not know (" + known + "); was it written by a newer cartridgedb?");
}

}  // namespace

std::string_view to_string(JobState state) { return word_of(kJobStates, state); }
std::string_view to_string(RowStatus status) { return word_of(kRowStatuses, status); }
JobState job_state_from_string(std::string_view text) { return value_of(kJobStates, text, "job state"); }
RowStatus row_status_from_string(std::string_view text) { return value_of(kRowStatuses, text, "row status"); }

}  // namespace cdb
