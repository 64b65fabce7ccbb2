// The fixed-seed CI subset of bench/crash_trials: a few dozen kills, damaged
// directories and full disks, each a trial that can fail (a lost record, a
// crash, damaged bytes served).
#include <gtest/gtest.h>

#include "support/crash_trials.h"
#include "support/temp_dir.h"

namespace cdb {
namespace {

test::TrialCounts run_subset(int kills, int corruptions, int disk_full) {
  test::TempDir tmp("trials");
  test::TrialOptions o;
  o.seed = 20261203;
  o.kills = kills;
  o.corruptions = corruptions;
  o.disk_full = disk_full;
  o.work = tmp.path() / "work";
  return test::run_trials(o);
}

TEST(CrashTrials, KilledWritersLoseNothingThatWasReportedCommitted) {
  const auto c = run_subset(20, 0, 0);
  EXPECT_EQ(c.kills, 20);
  EXPECT_GE(c.kills_mid_run, 10);
  EXPECT_EQ(c.lost_records, 0);
  EXPECT_EQ(c.open_crashes, 0);
  EXPECT_EQ(c.silent_accepts, 0);
}

TEST(CrashTrials, DamagedFilesAreRefusedOrDetectedNeverServedAndNeverMadeWorse) {
  const auto c = run_subset(0, 60, 0);
  EXPECT_EQ(c.corruptions, 60);
  EXPECT_EQ(c.open_crashes, 0) << c.to_json().dump();
  EXPECT_EQ(c.silent_accepts, 0) << c.to_json().dump();
  EXPECT_EQ(c.lost_records, 0) << c.to_json().dump();
  EXPECT_GT(c.refused_opens, 0);
  EXPECT_GT(c.recover_expected, 0u);
  EXPECT_GT(c.repaired_share(), 0.9) << c.to_json().dump();
}

TEST(CrashTrials, FullDisksGiveAClearMessageAndLoseNothing) {
  const auto c = run_subset(0, 0, 3);
  if (!c.disk_full_note.empty()) GTEST_SKIP() << c.disk_full_note;
  EXPECT_EQ(c.disk_full, 3);
  EXPECT_EQ(c.disk_full_clear_messages, 3);
  EXPECT_EQ(c.lost_records, 0);
  EXPECT_EQ(c.open_crashes, 0);
}

}  // namespace
}  // namespace cdb
